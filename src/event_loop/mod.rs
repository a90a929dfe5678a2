//! The event loop. It knows sockets, tokens, timers and bytes; it knows no
//! protocol.
//!
//! One [`Reactor::run`] turn, the whole loop in one place (compare Redis's
//! `aeProcessEvents`):
//!
//! 1. **poll**: sleep in `epoll_wait`/`kevent` until a source is ready or
//!    the earliest timer is due; not at all if a connection still has input
//!    from last turn.
//! 2. **dispatch** each event by token (`Reactor::dispatch`): the listener
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
//! Readiness reaches a protocol through one trait, in `protocol.rs`; the
//! protocol acts only through [`Io`] (`io.rs`). Accepting lives in
//! `accept.rs`, graceful shutdown in `shutdown.rs`, the connection and its
//! states in `conn.rs`.
//!
//! ## Edge-triggered readiness
//!
//! mio registers sources edge-triggered: `poll` reports a socket when it
//! *becomes* readable, not while it *is* readable. So a handler must read
//! until `WouldBlock`, or remember that it stopped early. Here it stops early
//! on purpose, after [`READ_BUDGET`] reads, so one fast sender cannot starve
//! everyone else; such connections go on the `still_ready` list and are read
//! again next turn without waiting for an event that will never come.

mod accept;
mod close;
mod conn;
mod conn_map;
pub mod datagram;
mod handle;
mod io;
mod outqueue;
mod protocol;
mod shutdown;
mod signals;
mod source;
mod stats;
mod timer;
mod token;

pub use conn::{CloseReason, State};
pub use conn_map::ConnMap;
pub use handle::Handle;
pub use io::{Io, NoTimer, SCRATCH_SIZE};
pub use outqueue::{Chunk, OutQueue};
pub use protocol::{Config, Overflow, Protocol};
pub use source::{PipeReceiver, Readiness, Source, SourceInterest, UdpSocket};
pub use stats::Stats;
pub use timer::{TimerId, Timers};
pub use token::{source_token, ConnId, MAX_SOURCES};

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use log::{debug, info, trace, warn};
use mio::event::Event;
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Waker};

use conn::interest_name;
use io::TimerKind;
use token::{source_number, LISTENER, SIGNALS, WAKER};

/// Reads one connection may do per readiness event before the loop moves on
/// to the others. 16 reads of up to 64 KiB is 1 MiB: enough that a bulk
/// sender is not slowed by the turn overhead, small enough that a thousand
/// chatty peers each get their turn within milliseconds.
pub const READ_BUDGET: usize = 16;

/// The log target of `--trace` narration. Narration is logged under its
/// own target, not the module's, so `--trace` can switch it on alone
/// without letting the loop's other debug and info lines past `-q`.
pub const NARRATION: &str = "reactor::narration";

/// Events taken from the kernel per `poll`. More ready sockets than this
/// simply wait for the next turn.
const EVENTS_CAPACITY: usize = 1024;

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
    io: Io<P::Timer>,
    protocol: P,
    acceptor: Acceptor,
    phase: Phase,
    handle: Handle,
    /// Since when accepting has been failing for want of descriptors.
    out_of_fds_since: Option<Instant>,
    /// When `--max-conns` refusal was last logged (warn at most once a second).
    last_refusal_warning: Option<Instant>,
    /// SIGINT and SIGTERM, once [`stop_on_signals`](Reactor::stop_on_signals)
    /// installed them.
    signals: Option<signal_hook_mio::v1_0::Signals>,
    /// A second signal ended the loop without flushing: which one.
    second_signal: Option<i32>,
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
            handle: Handle::new(waker),
            out_of_fds_since: None,
            last_refusal_warning: None,
            signals: None,
            second_signal: None,
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

    /// A handle that asks this loop to shut down, or wakes it, from any
    /// thread.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// The protocol and the loop's `Io`, for wiring before `run` (the client
    /// starts its connect and registers stdin through them).
    pub fn parts(&mut self) -> (&mut P, &mut Io<P::Timer>) {
        (&mut self.protocol, &mut self.io)
    }

    /// The counters (the shutdown summary is written from them).
    pub fn stats(&self) -> &Stats {
        &self.io.stats
    }

    /// The protocol, after `run` returned (a client reads its outcome).
    pub fn protocol(&self) -> &P {
        &self.protocol
    }

    /// The protocol, taking the loop apart once `run` returned (a load
    /// generator hands back its counts this way; the sockets close here).
    pub fn into_protocol(self) -> P {
        self.protocol
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
        result
    }

    /// One turn: poll, dispatch, revisit, timers, flush.
    fn turn(&mut self, events: &mut Events) -> std::io::Result<()> {
        let revisit = std::mem::take(&mut self.io.still_ready);
        let revisit_sources = std::mem::take(&mut self.io.still_ready_sources);
        // One clock read before poll and one after; the handlers of a turn
        // all share the second (`Io::now`).
        let before_poll = Instant::now();
        let timeout = if revisit.is_empty() && revisit_sources.is_empty() {
            self.io.timers.poll_timeout(before_poll)
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
            let waited = self.io.now - before_poll;
            let count = events.iter().count();
            trace!(
                target: NARRATION,
                "poll woke: {count} event{} after {:.1} ms",
                if count == 1 { "" } else { "s" },
                waited.as_secs_f64() * 1000.0
            );
        }
        for event in events.iter() {
            self.io.stats.events += 1;
            self.dispatch(event);
        }
        for id in revisit {
            let (bytes_in, bytes_out) = (self.io.stats.bytes_in, self.io.stats.bytes_out);
            self.read(id, true);
            if self.io.config.trace {
                self.narrate(id, "still ready from last turn", bytes_in, bytes_out);
            }
            self.reap();
        }
        for source in revisit_sources {
            self.protocol
                .on_source(&mut self.io, source, Readiness::READABLE);
            self.settle();
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
            SIGNALS => self.signalled(),
            token => match (ConnId::from_token(token), source_number(token)) {
                (Some(id), _) => self.connection_event(id, event),
                (None, Some(source)) => {
                    self.protocol
                        .on_source(&mut self.io, source, Readiness::of(event));
                    self.settle();
                }
                (None, None) => debug!("event for unknown token {}", token.0),
            },
        }
    }

    /// A connection is readable and/or writable.
    fn connection_event(&mut self, id: ConnId, event: &Event) {
        let Some(conn) = self.io.conns.get(id) else {
            // A stale event for a connection closed earlier in this batch.
            return;
        };
        let (bytes_in, bytes_out) = (self.io.stats.bytes_in, self.io.stats.bytes_out);
        if matches!(conn.state, State::Connecting) {
            self.finish_connect(id);
        }
        if event.is_writable() {
            self.io.flush(id);
            self.reap();
        }
        if event.is_readable() || event.is_read_closed() || event.is_error() {
            self.read(id, event.is_read_closed() || event.is_error());
        }
        if self.io.config.trace {
            let what = match (event.is_readable(), event.is_writable()) {
                (true, true) => "readable+writable",
                (false, true) => "writable",
                _ => "readable",
            };
            self.narrate(id, what, bytes_in, bytes_out);
        }
        self.reap();
    }

    /// `--trace`: one line per connection event, in the SPEC's format.
    fn narrate(&self, id: ConnId, what: &str, bytes_in: u64, bytes_out: u64) {
        let read = self.io.stats.bytes_in - bytes_in;
        let wrote = self.io.stats.bytes_out - bytes_out;
        match self.io.conns.get(id) {
            Some(conn) => trace!(
                target: NARRATION,
                " token {id} {what} -> read {read} B, wrote {wrote} B, queued {} B -> interest {} ({})",
                conn.output.len(),
                interest_name(conn.interest),
                conn.state
            ),
            None => trace!(
                target: NARRATION,
                " token {id} {what} -> read {read} B, wrote {wrote} B -> closed"
            ),
        }
    }

    /// An outgoing connect reported writable: did it work?
    fn finish_connect(&mut self, id: ConnId) {
        let Some(conn) = self.io.conns.get_mut(id) else {
            return;
        };
        // `take_error` reports a failed connect; `peer_addr` tells a
        // completed one from one still in progress (a spurious wake-up).
        match conn.stream.take_error() {
            Ok(Some(e)) | Err(e) => return self.io.remove(id, CloseReason::ConnectFailed(e)),
            Ok(None) => {}
        }
        match conn.stream.peer_addr() {
            Ok(_) => {
                conn.set_state(id, State::Open);
                debug!("conn={id} connected to {}", conn.peer);
                self.io.sync_interest(id);
                self.protocol.on_open(&mut self.io, id);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotConnected => {}
            Err(e) => self.io.remove(id, CloseReason::ConnectFailed(e)),
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
            // Fields of `io`, not a method: the connection and the scratch
            // buffer are borrowed side by side.
            let Some(conn) = self.io.conns.get_mut(id) else {
                return;
            };
            match conn.state {
                State::Connecting | State::Paused => return,
                State::Open | State::SendingFin | State::FinSent => {}
                State::Closing | State::Lingering => return self.io.discard_input(id),
            }
            if self.io.overflow == Overflow::PauseReading
                && conn.output.len() >= self.io.config.max_outbuf
            {
                conn.set_state(id, State::Paused);
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
                Err(e) => return self.io.remove(id, CloseReason::Error(e)),
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
        let mut pending = match self.io.conns.get_mut(id) {
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
                self.io.remove(id, CloseReason::InputTooLarge);
            } else if let Some(conn) = self.io.conns.get_mut(id) {
                conn.pending_input = leftover;
            }
        }
        self.io.scratch = scratch;
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
                    for id in self.io.conns.ids() {
                        self.io.remove(id, CloseReason::Shutdown);
                    }
                }
                TimerKind::Protocol(timer) => self.protocol.on_timer(&mut self.io, timer),
            }
            self.reap();
        }
    }

    /// A connection's idle or linger deadline passed.
    fn connection_timer(&mut self, id: ConnId) {
        let now = self.io.now;
        let idle_timeout = self.io.config.idle_timeout;
        let Some(conn) = self.io.conns.get_mut(id) else {
            return;
        };
        conn.timer = None;
        match conn.state {
            // A close we started is taking too long: the peer neither reads
            // what is queued nor closes. Give up on it.
            State::Lingering | State::Closing => self.io.remove(id, CloseReason::IdleTimeout),
            State::Connecting
            | State::Open
            | State::Paused
            | State::SendingFin
            | State::FinSent => {
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
                    if let Some(conn) = self.io.conns.get_mut(id) {
                        conn.timer = Some(timer);
                    }
                }
            }
        }
    }

    /// Tells the protocol about drained and closed connections.
    fn reap(&mut self) {
        while let Some(id) = self.io.drained.pop() {
            self.protocol.on_drained(&mut self.io, id);
        }
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

#[cfg(test)]
mod tests;
