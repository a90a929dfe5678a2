//! [`Io`]: everything the loop owns except `Poll` itself and the protocol,
//! and the only way a protocol acts on the world.
//!
//! A protocol never touches a socket. It asks `Io` to [`send`](Io::send) or
//! [`close`](Io::close) a connection, or to set a timer, and `Io` does it
//! with the same few mechanisms for every protocol: the output queue, the
//! interest derived from state, and the close sequence (`close.rs`). Keeping these here,
//! apart from the dispatching in `mod.rs`, is also what lets a protocol call
//! back into the loop while the loop is calling it: the loop lends `&mut Io`
//! to the protocol for the length of one callback.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use log::{trace, warn};
use mio::net::TcpStream;
use mio::{Interest, Registry};

use super::conn::{interest_name, CloseReason, Connection, Origin, State};
use super::conn_map::ConnMap;
use super::outqueue::Chunk;
use super::stats::Stats;
use super::timer::{TimerId, Timers};
use super::token::{ConnId, IdPool};
use super::{Config, Overflow};

/// How long a connection we closed waits for its peer to close too before
/// it is dropped anyway (see [`State::Lingering`]). nginx's `lingering_time`
/// is 30 s; a load-test target wants its slots back sooner.
pub(crate) const LINGER: Duration = Duration::from_secs(2);

/// Size of the one read buffer the whole loop shares. 64 KiB is what one
/// read of a loopback socket typically returns at most, and what tokio and
/// libuv use; it lives once per loop, not once per connection.
pub const SCRATCH_SIZE: usize = 64 * 1024;

/// What a timer is for: the loop's own timers, and the protocol's, each
/// of the protocol's own type ([`Protocol::Timer`](super::Protocol::Timer)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimerKind<T> {
    /// A connection's idle or linger deadline.
    Conn(ConnId),
    /// Time to log the `--stats-interval` line.
    Stats,
    /// Accepting was paused by `EMFILE`/`ENFILE`; try again.
    ResumeAccept,
    /// Graceful shutdown has run out of time.
    ShutdownDeadline,
    /// One of the protocol's timers.
    Protocol(T),
}

/// The timer type of a protocol that sets no timers: an enum with no
/// values, so `on_timer` can never be called for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoTimer {}

/// The loop's state that protocols may act on through its methods. `T`
/// is the protocol's timer type; protocols without timers write plain `Io`.
pub struct Io<T = NoTimer> {
    /// Registers and re-registers sources with the `Poll`.
    pub(crate) registry: Registry,
    /// The connections, found by the [`ConnId`] in each event's token.
    pub(crate) conns: ConnMap<Connection>,
    /// Which slot and generation the next connection gets.
    pub(crate) ids: IdPool,
    /// Idle, linger, stats, accept-retry, shutdown and protocol timers.
    pub(crate) timers: Timers<TimerKind<T>>,
    /// Counters.
    pub(crate) stats: Stats,
    /// Limits and switches from the command line.
    pub(crate) config: Config,
    /// The read buffer every connection shares.
    pub(crate) scratch: Vec<u8>,
    /// Connections that stopped reading at their read budget with input
    /// maybe left: edge-triggered `poll` will not report them again, so
    /// the loop revisits them next turn.
    pub(crate) still_ready: Vec<ConnId>,
    /// Protocol-owned sources to call again next turn
    /// (see [`Io::revisit_source`]).
    pub(crate) still_ready_sources: Vec<usize>,
    /// Connections whose queue a flush just emptied, for `on_drained`.
    pub(crate) drained: Vec<ConnId>,
    /// Connections given queued (not written-through) output this turn;
    /// flushed once each at the end of the turn.
    pub(crate) to_flush: Vec<ConnId>,
    /// Connections removed whose protocol has not been told yet.
    pub(crate) closed: Vec<(ConnId, CloseReason)>,
    /// The time at the start of this loop turn.
    pub(crate) now: Instant,
    /// Set by [`Io::stop`]: leave the loop after this turn.
    pub(crate) stop_requested: bool,
    /// The protocol's answer to an output queue over `--max-outbuf`.
    pub(crate) overflow: Overflow,
}

impl<T> Io<T> {
    pub(crate) fn new(registry: Registry, config: Config) -> Io<T> {
        Io {
            registry,
            conns: ConnMap::new(),
            ids: IdPool::default(),
            timers: Timers::default(),
            stats: Stats::default(),
            config,
            scratch: vec![0; SCRATCH_SIZE],
            still_ready: Vec::new(),
            still_ready_sources: Vec::new(),
            drained: Vec::new(),
            to_flush: Vec::new(),
            closed: Vec::new(),
            now: Instant::now(),
            stop_requested: false,
            overflow: Overflow::PauseReading,
        }
    }

    // ----- what protocols use -------------------------------------------

    /// Sends `bytes` now if nothing else is queued (no copy, one `write`),
    /// and queues whatever the kernel did not take. This is the path for a
    /// connection's own replies: echo's bytes, HTTP's batch of responses.
    pub fn send(&mut self, id: ConnId, bytes: &[u8]) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        if !accepts_output(conn.state) {
            return;
        }
        let mut written = 0;
        if bytes.is_empty() {
            return;
        }
        if conn.output.is_empty() && !matches!(conn.state, State::Connecting) {
            written = loop {
                match conn.stream.write(bytes) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break 0,
                    Err(e) => return self.remove(id, CloseReason::Error(e)),
                }
            };
            self.stats.bytes_out += written as u64;
            if written > 0 {
                conn.last_activity = self.now;
            }
        }
        if written < bytes.len() {
            if let Some(conn) = self.conns.get_mut(id) {
                conn.output.push_copy(&bytes[written..]);
            }
            self.after_queueing(id);
        }
    }

    /// Queues one shared copy of a message, to go out with everything else
    /// queued for `id` this turn in one vectored write at the end of the
    /// turn. This is the fan-out path: a chat line to a whole room.
    pub fn send_shared(&mut self, id: ConnId, message: Rc<[u8]>) {
        self.queue_chunk(id, Chunk::Shared(message));
    }

    /// Queues a copy of `bytes` to go out at the end of the turn, in order
    /// with [`send_shared`](Io::send_shared) messages.
    pub fn queue(&mut self, id: ConnId, bytes: &[u8]) {
        self.queue_chunk(id, Chunk::Owned(bytes.to_vec()));
    }

    /// Starts an outgoing, non-blocking connect. The protocol's `on_open`
    /// runs once it completes; a failure arrives as `on_closed` with
    /// [`CloseReason::ConnectFailed`].
    pub fn connect(&mut self, addr: SocketAddr) -> io::Result<ConnId> {
        let stream = TcpStream::connect(addr)?;
        self.insert(stream, addr, State::Connecting, Origin::Outgoing)
    }

    /// The peer's address, while `id` is open.
    pub fn peer_addr(&self, id: ConnId) -> Option<SocketAddr> {
        self.conns.get(id).map(|conn| conn.peer)
    }

    /// Which listener accepted `id` (or whether it is outgoing), while it
    /// is open.
    pub fn origin(&self, id: ConnId) -> Option<Origin> {
        self.conns.get(id).map(|conn| conn.origin)
    }

    /// Whether `id` still names an open connection.
    pub fn is_open(&self, id: ConnId) -> bool {
        self.conns.get(id).is_some()
    }

    /// Ends this connection's turn: the input `on_input` did not consume
    /// is offered again next turn, before anything new is read, even if no
    /// new byte arrives. For a protocol whose input can cost a lot of work
    /// (one chat line is a delivery to every member of a room), so one
    /// connection's backlog cannot stall everyone else's turn: the
    /// counterpart for work of the read budget for bytes.
    pub fn hold_input(&mut self, id: ConnId) {
        if let Some(conn) = self.conns.get_mut(id) {
            conn.input_held = true;
            self.revisit(id);
        }
    }

    /// Whether [`hold_input`](Io::hold_input) was called for `id` this turn.
    pub(crate) fn input_held(&self, id: ConnId) -> bool {
        self.conns.get(id).is_some_and(|conn| conn.input_held)
    }

    /// Whether `id` is open and still takes input: neither gone nor
    /// closing. A protocol handling a long input stops when this turns
    /// false (a slow consumer dropped, a close requested).
    pub fn takes_input(&self, id: ConnId) -> bool {
        self.conns.get(id).is_some_and(|conn| match conn.state {
            State::Connecting
            | State::Open
            | State::Paused
            | State::SendingFin
            | State::FinSent => true,
            State::Closing | State::Lingering => false,
        })
    }

    /// Bytes queued for `id` and not yet written.
    pub fn queued(&self, id: ConnId) -> usize {
        self.conns.get(id).map_or(0, |conn| conn.output.len())
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The counters, for protocols that count datagrams.
    pub fn stats_mut(&mut self) -> &mut Stats {
        &mut self.stats
    }

    /// The limits and switches the loop runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The time this loop turn started: cheap, and the same for every
    /// callback of the turn.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Arms a protocol timer; `on_timer(timer)` runs when it is due.
    pub fn set_timer(&mut self, after: Duration, timer: T) -> TimerId {
        self.timers
            .add(self.now + after, TimerKind::Protocol(timer))
    }

    /// Disarms a protocol timer.
    pub fn cancel_timer(&mut self, id: TimerId) {
        self.timers.cancel(id);
    }

    /// Calls `on_source(source, READABLE)` again next turn: for a source
    /// that stopped at a budget with input maybe left (edge-triggered
    /// readiness will not report it again).
    pub fn revisit_source(&mut self, source: usize) {
        if !self.still_ready_sources.contains(&source) {
            self.still_ready_sources.push(source);
        }
    }

    /// Leaves the loop at the end of this turn (the client, when done).
    pub fn stop(&mut self) {
        self.stop_requested = true;
    }

    // ----- the connection mechanics the loop shares ---------------------

    /// Reads `id` again next turn: it may have input that no new edge will
    /// announce (it stopped at its read budget, or reading just resumed).
    /// A connection is on the list once at most, so it gets one budget per
    /// turn however many reasons it has to be revisited.
    pub(crate) fn revisit(&mut self, id: ConnId) {
        if let Some(conn) = self.conns.get_mut(id) {
            if !conn.revisit {
                conn.revisit = true;
                self.still_ready.push(id);
            }
        }
    }

    /// Takes the revisit list for this turn, so connections may be put on
    /// the next one.
    pub(crate) fn take_revisits(&mut self) -> Vec<ConnId> {
        let list = std::mem::take(&mut self.still_ready);
        for &id in &list {
            if let Some(conn) = self.conns.get_mut(id) {
                conn.revisit = false;
            }
        }
        list
    }

    /// Whether `id` is on the next turn's revisit list already: it was
    /// read to its budget this turn.
    pub(crate) fn is_due_for_revisit(&self, id: ConnId) -> bool {
        self.conns.get(id).is_some_and(|conn| conn.revisit)
    }

    /// Puts a new stream into the slab and registers it. The one place a
    /// connection is registered (the one place it leaves is [`Io::remove`]).
    pub(crate) fn insert(
        &mut self,
        mut stream: TcpStream,
        peer: SocketAddr,
        state: State,
        origin: Origin,
    ) -> io::Result<ConnId> {
        let id = self.ids.take();
        let interest = if matches!(state, State::Connecting) {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        // Registered before it is stored: if registration fails, nothing
        // was stored and the id goes straight back to the pool.
        if let Err(e) = self.registry.register(&mut stream, id.token(), interest) {
            self.ids.give_back(id);
            return Err(e);
        }
        let now = self.now;
        self.conns.insert(
            id,
            Connection::new(stream, state, peer, origin, interest, now),
        );
        self.stats.open += 1;
        self.ensure_timer(id);
        Ok(id)
    }

    fn queue_chunk(&mut self, id: ConnId, chunk: Chunk) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        if !accepts_output(conn.state) {
            return;
        }
        let was_empty = conn.output.is_empty();
        conn.output.push(chunk);
        // A connection whose queue was already non-empty is either on the
        // flush list from earlier this turn or waiting for writability; in
        // both cases its new bytes go out with the old ones.
        if was_empty {
            self.to_flush.push(id);
        }
        self.check_overflow(id);
    }

    /// After bytes were queued: make sure writability is watched, and apply
    /// the slow-consumer rule.
    fn after_queueing(&mut self, id: ConnId) {
        self.sync_interest(id);
        self.check_overflow(id);
    }

    /// A protocol that disconnects slow consumers (chat) gets them closed
    /// here; one that pauses (echo, HTTP) gets its reads paused by the loop.
    ///
    /// Output queued during a turn is normally written at the end of the
    /// turn, so a queue can pass the limit within one turn without its peer
    /// being slow at all: one read of a busy sender can fan out a megabyte
    /// of lines. So before a connection is judged, its queue is offered to
    /// the kernel once; only what a peer does not take counts against it.
    fn check_overflow(&mut self, id: ConnId) {
        if self.overflow != Overflow::Disconnect || !self.over_limit(id) {
            return;
        }
        self.flush(id);
        let Some(conn) = self.conns.get(id) else {
            return;
        };
        if conn.output.footprint() > self.config.max_outbuf {
            warn!(
                "conn={id} peer={} disconnected: {} B queued ({} B held), over --max-outbuf {}",
                conn.peer,
                conn.output.len(),
                conn.output.footprint(),
                self.config.max_outbuf
            );
            self.remove(id, CloseReason::SlowConsumer);
        }
    }

    /// Whether `id`'s queue holds more than `--max-outbuf`.
    fn over_limit(&self, id: ConnId) -> bool {
        self.conns
            .get(id)
            .is_some_and(|conn| conn.output.footprint() > self.config.max_outbuf)
    }

    /// Registers the interest the connection's state calls for, if it
    /// changed. The one place interest is decided.
    pub(crate) fn sync_interest(&mut self, id: ConnId) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        let wanted = conn.wanted_interest();
        if wanted == conn.interest {
            return;
        }
        match self
            .registry
            .reregister(&mut conn.stream, id.token(), wanted)
        {
            Ok(()) => {
                conn.interest = wanted;
                if self.config.trace {
                    trace!(
                        target: super::NARRATION,
                        "  conn {id} interest -> {}",
                        interest_name(wanted)
                    );
                }
            }
            Err(e) => self.remove(id, CloseReason::Error(e)),
        }
    }

    /// Writes queued output until the queue is empty or the kernel's send
    /// buffer is full, then moves the state machine on. Small chunks are
    /// gathered into the scratch buffer first when the loop is not lending
    /// it out ([`OutQueue::write_gathered`](super::OutQueue::write_gathered)).
    pub(crate) fn flush(&mut self, id: ConnId) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        if matches!(conn.state, State::Connecting) {
            return;
        }
        let queued_before = conn.output.len();
        while !conn.output.is_empty() {
            match conn
                .output
                .write_gathered(&mut conn.stream, &mut self.scratch)
            {
                Ok((0, _)) => {
                    let e = io::Error::from(io::ErrorKind::WriteZero);
                    return self.remove(id, CloseReason::Error(e));
                }
                Ok((written, offered)) => {
                    self.stats.bytes_out += written as u64;
                    conn.last_activity = self.now;
                    // A short write means the send buffer is full: another
                    // attempt now would only return WouldBlock. Wait for the
                    // writable edge instead (one system call saved).
                    if written < offered {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.remove(id, CloseReason::Error(e)),
            }
        }
        let low_water = self.config.max_outbuf / 2;
        let drained = conn.output.is_empty();
        let wrote_something = conn.output.len() < queued_before;
        if conn.state == State::Paused && conn.output.footprint() <= low_water {
            // Reading resumes; the peer may have data waiting that no new
            // edge will announce, so look at it next turn.
            conn.set_state(id, State::Open);
            self.revisit(id);
        }
        if drained && wrote_something {
            self.drained.push(id);
        }
        if drained {
            self.output_drained(id);
        }
        self.sync_interest(id);
    }
}

/// Whether output may still be queued for a connection in `state`.
fn accepts_output(state: State) -> bool {
    match state {
        State::Connecting | State::Open | State::Paused | State::Closing => true,
        State::SendingFin | State::FinSent | State::Lingering => false,
    }
}
