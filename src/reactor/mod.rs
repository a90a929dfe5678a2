//! The event loop. It knows sockets, tokens, timers and bytes; it knows no
//! protocol.
//!
//! One [`Reactor::run`] turn, the whole loop in one place (compare Redis's
//! `aeProcessEvents`):
//!
//! 1. **poll**: sleep in `epoll_wait`/`kevent` until a source is ready or
//!    the earliest timer is due; not at all if a connection still has input
//!    from last turn.
//! 2. **dispatch** each event by token ([`Reactor::dispatch`]): the listener
//!    accepts, the waker reports a signal, a protocol-owned source (UDP
//!    socket, stdin) goes to the protocol, anything else is a connection:
//!    its queued output is flushed if writable, its input read if readable,
//!    and what was read is handed to [`Protocol::on_input`].
//! 3. **revisit** connections that stopped at their read budget last turn.
//! 4. **fire** due timers: idle and linger deadlines, the stats line,
//!    protocol timers.
//! 5. **flush** connections given queued output this turn (one vectored
//!    write each), and tell the protocol about connections that closed.
//!
//! ## The seam: [`Protocol`]
//!
//! Readiness reaches a protocol through one trait with one method per kind
//! of event. The loop owns the sockets and the protocol owns its state (per
//! connection, keyed by [`ConnId::index`], plus anything shared, like chat
//! rooms). A callback gets `&mut Io` and acts only through it: send, close,
//! set a timer. So a protocol is a state machine of bytes in and actions
//! out, testable without sockets, and a new protocol is one new file.
//!
//! A trait rather than an enum of protocols: one loop runs one protocol, the
//! loop is compiled for it (`Reactor<Echo>`, `Reactor<Chat>`), and every call
//! is static. An enum would make every protocol a variant the loop must name,
//! which is what "the loop knows no protocol" rules out.
//!
//! ## Edge-triggered readiness
//!
//! mio registers sources edge-triggered: `poll` reports a socket when it
//! *becomes* readable, not while it *is* readable. So a handler must read
//! until `WouldBlock`, or remember that it stopped early. Here it stops early
//! on purpose, after [`READ_BUDGET`] reads, so one fast sender cannot starve
//! everyone else; such connections go on the `still_ready` list and are read
//! again next turn without waiting for an event that will never come.

mod conn;
mod io;
mod outqueue;
mod stats;
mod timer;
mod token;

pub use conn::{CloseReason, State};
pub use io::{Io, SCRATCH_SIZE};
pub use outqueue::{Chunk, OutQueue};
pub use stats::Stats;
pub use timer::{TimerId, Timers};
pub use token::{source_token, ConnId, MAX_SOURCES};

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::{debug, info, trace, warn};
use mio::event::Event;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Waker};

use conn::interest_name;
use io::TimerKind;
use token::{source_number, LISTENER, WAKER};

/// Reads one connection may do per readiness event before the loop moves on
/// to the others. 16 reads of up to 64 KiB is 1 MiB: enough that a bulk
/// sender is not slowed by the turn overhead, small enough that a thousand
/// chatty peers each get their turn within milliseconds.
pub const READ_BUDGET: usize = 16;

/// Events taken from the kernel per `poll`. More ready sockets than this
/// simply wait for the next turn.
const EVENTS_CAPACITY: usize = 1024;

/// How long accepting pauses after `EMFILE`/`ENFILE` before it is tried
/// again. Not retrying at once is the point: the listener stays readable
/// while the backlog is full, so an immediate retry would spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// `EMFILE` and `ENFILE`: out of descriptors for this process / the system.
/// The same numbers on Linux, the BSDs and macOS.
const EMFILE: i32 = 24;
const ENFILE: i32 = 23;

/// What a protocol does when output queued for a connection passes
/// `--max-outbuf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Stop reading from that connection until its queue drains (echo,
    /// HTTP: the queue grows only because this peer does not read its own
    /// replies, so not reading its requests is the fair brake).
    PauseReading,
    /// Disconnect it (chat: its queue grows because *others* talk, and
    /// pausing it would not slow them down).
    Disconnect,
}

/// Limits and switches, from the command line.
#[derive(Debug, Clone)]
pub struct Config {
    /// Beyond this many open connections a new one is closed at once.
    pub max_conns: usize,
    /// Close a connection after this long without input.
    pub idle_timeout: Option<Duration>,
    /// Bound on bytes queued for one connection.
    pub max_outbuf: usize,
    /// Log a stats line this often.
    pub stats_interval: Option<Duration>,
    /// How long graceful shutdown may spend flushing.
    pub shutdown_timeout: Duration,
    /// Narrate every turn at `trace` level.
    pub trace: bool,
}

impl Default for Config {
    /// The SPEC defaults.
    fn default() -> Self {
        Config {
            max_conns: 10_000,
            idle_timeout: None,
            max_outbuf: 1024 * 1024,
            stats_interval: None,
            shutdown_timeout: Duration::from_secs(5),
            trace: false,
        }
    }
}

/// A protocol: the per-connection state machines the loop drives.
///
/// Every method but [`on_input`](Protocol::on_input) has a default, so a
/// protocol implements only the events it cares about.
pub trait Protocol {
    /// What to do with a connection whose queued output passes
    /// `--max-outbuf`.
    const OVERFLOW: Overflow = Overflow::PauseReading;

    /// A connection was accepted (or an outgoing connect completed).
    fn on_open(&mut self, _io: &mut Io, _conn: ConnId) {}

    /// Bytes arrived. Returns how many were consumed; the rest are kept and
    /// offered again, in front of the next bytes, when more arrive (the
    /// "incomplete message, read more" case).
    fn on_input(&mut self, io: &mut Io, conn: ConnId, input: &[u8]) -> usize;

    /// The peer shut down its write half. By default: finish sending what
    /// is queued, then close.
    fn on_peer_closed(&mut self, io: &mut Io, conn: ConnId) {
        io.close(conn, CloseReason::PeerClosed);
    }

    /// No input for `--idle-timeout`. By default: close.
    fn on_idle(&mut self, io: &mut Io, conn: ConnId) {
        io.close(conn, CloseReason::IdleTimeout);
    }

    /// The connection is gone (its socket already closed).
    fn on_closed(&mut self, _io: &mut Io, _conn: ConnId, _reason: &CloseReason) {}

    /// Sent to a connection refused by `--max-conns` before it is closed.
    fn refusal(&self) -> &[u8] {
        b""
    }

    /// A timer set with [`Io::set_timer`] is due.
    fn on_timer(&mut self, _io: &mut Io, _key: u64) {}

    /// A protocol-owned source (registered with
    /// [`source_token`]`(n)`) is ready.
    fn on_source(&mut self, _io: &mut Io, _source: usize, _event: &Event) {}

    /// The loop's waker was woken (by a helper thread of the protocol).
    fn on_wake(&mut self, _io: &mut Io) {}

    /// Graceful shutdown began; every connection will be closed after
    /// its queue is flushed.
    fn on_shutdown(&mut self, _io: &mut Io) {}

    /// Whether the loop may end: by default once every connection closed.
    /// A protocol with work of its own (UDP replies) can ask for more time.
    fn is_idle(&self) -> bool {
        true
    }
}

/// Asks a running loop to shut down gracefully, from any thread: a signal
/// handler thread, or a test.
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    inner: Arc<ShutdownInner>,
}

#[derive(Debug)]
struct ShutdownInner {
    waker: Waker,
    requests: AtomicUsize,
    app_wakes: AtomicUsize,
}

impl ShutdownHandle {
    /// Requests a graceful shutdown; returns how many were requested before
    /// (so a caller can treat a second request as "exit now").
    pub fn request(&self) -> usize {
        let before = self.inner.requests.fetch_add(1, Ordering::SeqCst);
        // A failed wake leaves the request to be seen at the next turn.
        let _ = self.inner.waker.wake();
        before
    }

    /// Wakes the loop for the protocol's `on_wake` (a helper thread has
    /// something for it).
    pub fn wake(&self) {
        self.inner.app_wakes.fetch_add(1, Ordering::SeqCst);
        let _ = self.inner.waker.wake();
    }
}

/// Whether the listener is taking new connections.
#[derive(Debug)]
enum Acceptor {
    /// No listener (a client), or closed for shutdown.
    Closed,
    /// Accepting.
    Accepting(TcpListener),
    /// Out of descriptors: waiting for the retry timer.
    Paused(TcpListener),
}

/// Whether the loop is serving or winding down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    /// Shutdown requested: no accepting, connections flushing and closing.
    Draining,
}

/// The event loop, compiled for one protocol.
pub struct Reactor<P: Protocol> {
    poll: Poll,
    events: Events,
    io: Io,
    protocol: P,
    acceptor: Acceptor,
    phase: Phase,
    shutdown: ShutdownHandle,
    started: Instant,
    /// When `--max-conns` refusal was last logged (warn at most once a second).
    last_refusal_warning: Option<Instant>,
}

impl<P: Protocol> Reactor<P> {
    /// A loop with no listener yet.
    pub fn new(config: Config, protocol: P) -> std::io::Result<Self> {
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let registry = poll.registry().try_clone()?;
        let mut io = Io::new(registry, config);
        io.overflow = P::OVERFLOW;
        Ok(Reactor {
            poll,
            events: Events::with_capacity(EVENTS_CAPACITY),
            io,
            protocol,
            acceptor: Acceptor::Closed,
            phase: Phase::Running,
            shutdown: ShutdownHandle {
                inner: Arc::new(ShutdownInner {
                    waker,
                    requests: AtomicUsize::new(0),
                    app_wakes: AtomicUsize::new(0),
                }),
            },
            started: Instant::now(),
            last_refusal_warning: None,
        })
    }

    /// Binds a listening TCP socket; returns the address it got (the real
    /// port when `addr` asked for port 0).
    pub fn listen(&mut self, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let mut listener = TcpListener::bind(addr)?;
        self.poll
            .registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let local = listener.local_addr()?;
        self.acceptor = Acceptor::Accepting(listener);
        Ok(local)
    }

    /// A handle that asks this loop to shut down, or wakes it.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// The protocol and the loop's `Io`, for wiring before `run` (the client
    /// starts its connect and registers stdin through them).
    pub fn parts(&mut self) -> (&mut P, &mut Io) {
        (&mut self.protocol, &mut self.io)
    }

    /// The protocol, after `run` returned (a client reads its outcome).
    pub fn protocol(&self) -> &P {
        &self.protocol
    }

    /// Runs until a graceful shutdown completes or the protocol stops it.
    pub fn run(&mut self) -> std::io::Result<()> {
        if let Some(every) = self.io.config.stats_interval {
            self.io.timers.add(Instant::now() + every, TimerKind::Stats);
        }
        let mut events = Events::with_capacity(0);
        std::mem::swap(&mut events, &mut self.events);
        let result = loop {
            if let Err(e) = self.turn(&mut events) {
                break Err(e);
            }
            let drained = self.phase == Phase::Draining
                && self.io.conns.is_empty()
                && self.protocol.is_idle();
            if drained || self.io.stop_requested {
                break Ok(());
            }
        };
        std::mem::swap(&mut events, &mut self.events);
        if matches!(self.acceptor, Acceptor::Closed) && self.phase == Phase::Draining {
            let stats = self.io.stats;
            info!(
                "stopped after {:.1} s: accepted={} bytes_in={} bytes_out={} turns={}",
                self.started.elapsed().as_secs_f64(),
                stats.accepted,
                stats.bytes_in,
                stats.bytes_out,
                stats.turns
            );
        }
        result
    }

    /// One turn: poll, dispatch, revisit, timers, flush.
    fn turn(&mut self, events: &mut Events) -> std::io::Result<()> {
        let revisit = std::mem::take(&mut self.io.still_ready);
        // One clock read before `poll` serves both the timeout and the
        // `--trace` wait time: under load a turn handles only a few events,
        // so every clock read per turn shows in the CPU per request.
        let slept_from = Instant::now();
        let timeout = if revisit.is_empty() {
            self.io.timers.poll_timeout(slept_from)
        } else {
            Some(Duration::ZERO)
        };
        match self.poll.poll(events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        self.io.now = Instant::now();
        self.io.stats.turns += 1;
        if self.io.config.trace {
            let waited = self.io.now - slept_from;
            let count = events.iter().count();
            trace!(
                "poll woke: {count} events after {:.1} ms",
                waited.as_secs_f64() * 1000.0
            );
        }
        for event in events.iter() {
            self.io.stats.events += 1;
            self.dispatch(event);
        }
        for id in revisit {
            if self.io.config.trace {
                trace!(" conn {id} still ready from last turn");
            }
            self.read(id, true);
            self.reap();
        }
        self.fire_timers();
        self.settle();
        Ok(())
    }

    /// Where an event goes: the one `match` on tokens.
    fn dispatch(&mut self, event: &Event) {
        match event.token() {
            LISTENER => self.accept(),
            WAKER => self.woken(),
            token => match (ConnId::from_token(token), source_number(token)) {
                (Some(id), _) => self.connection_event(id, event),
                (None, Some(source)) => {
                    self.protocol.on_source(&mut self.io, source, event);
                    self.settle();
                }
                (None, None) => debug!("event for unknown token {}", token.0),
            },
        }
    }

    /// A connection is readable and/or writable.
    fn connection_event(&mut self, id: ConnId, event: &Event) {
        let Some(conn) = self.io.live(id) else {
            // A stale event for a connection closed earlier in this batch.
            return;
        };
        let (bytes_in, bytes_out) = (self.io.stats.bytes_in, self.io.stats.bytes_out);
        if matches!(conn.state, State::Connecting) {
            self.finish_connect(id);
        }
        if event.is_writable() {
            self.io.flush(id);
        }
        if event.is_readable() || event.is_read_closed() || event.is_error() {
            self.read(id, event.is_read_closed() || event.is_error());
        }
        if self.io.config.trace {
            self.narrate(id, event, bytes_in, bytes_out);
        }
        self.reap();
    }

    /// `--trace`: one line per connection event, in the SPEC's format.
    fn narrate(&self, id: ConnId, event: &Event, bytes_in: u64, bytes_out: u64) {
        let what = match (event.is_readable(), event.is_writable()) {
            (true, true) => "readable+writable",
            (false, true) => "writable",
            _ => "readable",
        };
        let read = self.io.stats.bytes_in - bytes_in;
        let wrote = self.io.stats.bytes_out - bytes_out;
        match self.io.live(id) {
            Some(conn) => trace!(
                " token {id} {what} -> read {read} B, wrote {wrote} B, queued {} B -> interest {} ({})",
                conn.output.len(),
                interest_name(conn.interest),
                conn.state
            ),
            None => trace!(" token {id} {what} -> read {read} B, wrote {wrote} B -> closed"),
        }
    }

    /// An outgoing connect reported writable: did it work?
    fn finish_connect(&mut self, id: ConnId) {
        let Some(conn) = self.io.live_mut(id) else {
            return;
        };
        // `take_error` reports a failed connect; `peer_addr` tells a
        // completed one from one still in progress (a spurious wake-up).
        match conn.stream.take_error() {
            Ok(Some(e)) | Err(e) => return self.io.abort(id, CloseReason::ConnectFailed(e)),
            Ok(None) => {}
        }
        match conn.stream.peer_addr() {
            Ok(_) => {
                conn.state = State::Open;
                debug!("conn={id} connected to {}", conn.peer);
                self.io.sync_interest(id);
                self.protocol.on_open(&mut self.io, id);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotConnected => {}
            Err(e) => self.io.abort(id, CloseReason::ConnectFailed(e)),
        }
    }

    /// Reads a connection until `WouldBlock`, its read budget, or a reason
    /// to stop, handing each read to the protocol.
    ///
    /// `must_drain` is set when the event says the peer hung up or failed
    /// (and for revisits). Otherwise a read that did not fill the buffer is
    /// taken to mean "drained": the kernel returned all it had, and any
    /// byte that arrives later raises a new edge. That skips the read that
    /// would only have returned `WouldBlock`: one system call per message.
    fn read(&mut self, id: ConnId, must_drain: bool) {
        for _ in 0..READ_BUDGET {
            // Fields, not `live_mut`: the connection and the scratch buffer
            // are borrowed side by side.
            let Some(conn) = self.io.conns.get_mut(id.index()) else {
                return;
            };
            if conn.generation != id.generation() {
                return;
            }
            match conn.state {
                State::Connecting | State::Paused => return,
                State::Open | State::SendingFin | State::FinSent => {}
                State::Closing(_) | State::Lingering(_) => return self.io.discard_input(id),
            }
            if self.io.overflow == Overflow::PauseReading
                && conn.output.len() >= self.io.config.max_outbuf
            {
                conn.state = State::Paused;
                debug!("conn={id} paused: {} B queued", conn.output.len());
                return;
            }
            match std::io::Read::read(&mut conn.stream, &mut self.io.scratch) {
                Ok(0) => {
                    self.protocol.on_peer_closed(&mut self.io, id);
                    return;
                }
                Ok(n) => {
                    conn.last_input = self.io.now;
                    self.io.stats.bytes_in += n as u64;
                    self.deliver(id, n);
                    if n < SCRATCH_SIZE && !must_drain {
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return self.io.abort(id, CloseReason::Error(e)),
            }
        }
        // Budget spent with input perhaps left: no new edge will say so.
        self.io.still_ready.push(id);
    }

    /// Hands `n` fresh bytes in the scratch buffer to the protocol, behind
    /// any input it left unconsumed last time.
    fn deliver(&mut self, id: ConnId, n: usize) {
        // Lend the scratch buffer out so the protocol can have `&mut Io`.
        let scratch = std::mem::take(&mut self.io.scratch);
        let fresh = &scratch[..n];
        let mut pending = match self.io.live_mut(id) {
            Some(conn) => std::mem::take(&mut conn.pending_input),
            None => Vec::new(),
        };
        let leftover: &[u8] = if pending.is_empty() {
            let used = self.protocol.on_input(&mut self.io, id, fresh);
            &fresh[used.min(n)..]
        } else {
            pending.extend_from_slice(fresh);
            let used = self.protocol.on_input(&mut self.io, id, &pending);
            pending.drain(..used.min(pending.len()));
            &pending
        };
        if !leftover.is_empty() {
            let leftover = leftover.to_vec();
            let limit = self.io.config.max_outbuf.max(SCRATCH_SIZE);
            if leftover.len() > limit {
                self.io.abort(id, CloseReason::InputTooLarge);
            } else if let Some(conn) = self.io.live_mut(id) {
                conn.pending_input = leftover;
            }
        }
        self.io.scratch = scratch;
    }

    /// Accepts until the backlog is empty.
    fn accept(&mut self) {
        loop {
            let Acceptor::Accepting(listener) = &self.acceptor else {
                return;
            };
            match listener.accept() {
                Ok((stream, peer)) => self.admit(stream, peer),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if matches!(e.raw_os_error(), Some(EMFILE) | Some(ENFILE)) => {
                    warn!(
                        "out of file descriptors ({e}): pausing accept for {} ms, serving the {} open connections",
                        ACCEPT_RETRY.as_millis(),
                        self.io.conns.len()
                    );
                    if let Acceptor::Accepting(listener) =
                        std::mem::replace(&mut self.acceptor, Acceptor::Closed)
                    {
                        self.acceptor = Acceptor::Paused(listener);
                    }
                    self.io
                        .timers
                        .add(self.io.now + ACCEPT_RETRY, TimerKind::ResumeAccept);
                    return;
                }
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionAborted => {}
                Err(e) => {
                    warn!("accept failed: {e}");
                    return;
                }
            }
        }
    }

    /// Takes in one accepted connection, or refuses it over `--max-conns`.
    fn admit(&mut self, mut stream: TcpStream, peer: SocketAddr) {
        self.io.stats.accepted += 1;
        if self.io.conns.len() >= self.io.config.max_conns {
            self.io.stats.refused += 1;
            let now = self.io.now;
            let quiet = self
                .last_refusal_warning
                .is_some_and(|at| now - at < Duration::from_secs(1));
            if !quiet {
                warn!(
                    "--max-conns {} reached: refusing {peer} ({} refused so far)",
                    self.io.config.max_conns, self.io.stats.refused
                );
                self.last_refusal_warning = Some(now);
            }
            // One try; a peer whose buffer is full just sees the close.
            let _ = std::io::Write::write(&mut stream, self.protocol.refusal());
            return;
        }
        // Small replies go out at once instead of waiting on Nagle's
        // algorithm for the peer's ACK.
        let _ = stream.set_nodelay(true);
        match self.io.insert(stream, peer, State::Open) {
            Ok(id) => {
                debug!("conn={id} peer={peer} opened");
                if self.io.config.trace {
                    trace!(" token listener readable -> accepted {peer} as conn {id}");
                }
                self.protocol.on_open(&mut self.io, id);
                self.reap();
            }
            Err(e) => warn!("cannot register connection from {peer}: {e}"),
        }
    }

    /// The waker fired: a shutdown request, or a protocol helper thread.
    fn woken(&mut self) {
        let inner = Arc::clone(&self.shutdown.inner);
        if inner.requests.load(Ordering::SeqCst) > 0 && self.phase == Phase::Running {
            self.begin_shutdown();
        }
        if inner.app_wakes.swap(0, Ordering::SeqCst) > 0 {
            self.protocol.on_wake(&mut self.io);
            self.settle();
        }
    }

    /// Stops accepting, tells the protocol, and closes every connection
    /// once its output is flushed, within `--shutdown-timeout`.
    fn begin_shutdown(&mut self) {
        info!(
            "shutting down: {} connections to flush (at most {} s)",
            self.io.conns.len(),
            self.io.config.shutdown_timeout.as_secs_f64()
        );
        self.phase = Phase::Draining;
        if let Acceptor::Accepting(mut listener) | Acceptor::Paused(mut listener) =
            std::mem::replace(&mut self.acceptor, Acceptor::Closed)
        {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        self.protocol.on_shutdown(&mut self.io);
        for id in self.open_ids() {
            self.io.close(id, CloseReason::Shutdown);
        }
        let deadline = self.io.now + self.io.config.shutdown_timeout;
        self.io.timers.add(deadline, TimerKind::ShutdownDeadline);
        self.settle();
    }

    fn open_ids(&self) -> Vec<ConnId> {
        self.io
            .conns
            .iter()
            .map(|(index, conn)| ConnId::new(index, conn.generation))
            .collect()
    }

    /// Runs every timer that is due.
    fn fire_timers(&mut self) {
        while let Some(kind) = self.io.timers.pop_due(self.io.now) {
            match kind {
                TimerKind::Conn(id) => self.connection_timer(id),
                TimerKind::Stats => {
                    info!("stats: {}", self.io.stats);
                    if let Some(every) = self.io.config.stats_interval {
                        self.io.timers.add(self.io.now + every, TimerKind::Stats);
                    }
                }
                TimerKind::ResumeAccept => {
                    if let Acceptor::Paused(listener) =
                        std::mem::replace(&mut self.acceptor, Acceptor::Closed)
                    {
                        self.acceptor = Acceptor::Accepting(listener);
                        self.accept();
                    }
                }
                TimerKind::ShutdownDeadline => {
                    let left = self.io.conns.len();
                    if left > 0 {
                        warn!("shutdown timeout: dropping {left} connections with unsent output");
                    }
                    for id in self.open_ids() {
                        self.io.abort(id, CloseReason::Shutdown);
                    }
                }
                TimerKind::Protocol(key) => self.protocol.on_timer(&mut self.io, key),
            }
            self.reap();
        }
    }

    /// A connection's idle or linger deadline passed.
    fn connection_timer(&mut self, id: ConnId) {
        let now = self.io.now;
        let idle_timeout = self.io.config.idle_timeout;
        let Some(conn) = self.io.live_mut(id) else {
            return;
        };
        conn.timer = None;
        let state = std::mem::replace(&mut conn.state, State::Open);
        match state {
            // A close we started is taking too long: the peer neither reads
            // what is queued nor closes. Give up on it.
            State::Lingering(reason) | State::Closing(reason) => self.io.remove(id, reason),
            State::Connecting
            | State::Open
            | State::Paused
            | State::SendingFin
            | State::FinSent => {
                conn.state = state;
                let Some(idle) = idle_timeout else { return };
                let due = conn.last_input + idle;
                if now >= due {
                    debug!(
                        "conn={id} peer={} idle for {} s",
                        conn.peer,
                        idle.as_secs_f64()
                    );
                    self.protocol.on_idle(&mut self.io, id);
                } else {
                    // Input arrived since the timer was set: re-arm for the
                    // new deadline instead of touching the timer per read.
                    let timer = self.io.timers.add(due, TimerKind::Conn(id));
                    if let Some(conn) = self.io.live_mut(id) {
                        conn.timer = Some(timer);
                    }
                }
            }
        }
    }

    /// Tells the protocol about closed connections.
    fn reap(&mut self) {
        while let Some((id, reason)) = self.io.closed.pop() {
            self.protocol.on_closed(&mut self.io, id, &reason);
        }
    }

    /// Flushes everything queued this turn and reaps what closed, until
    /// neither produces more work (a close can queue notices to others).
    fn settle(&mut self) {
        loop {
            self.reap();
            if self.io.to_flush.is_empty() {
                return;
            }
            for id in std::mem::take(&mut self.io.to_flush) {
                self.io.flush(id);
            }
        }
    }
}
