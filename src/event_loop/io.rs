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

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Interest, Registry};

use super::conn::{CloseReason, Connection, Origin, State};
use super::conn_map::ConnMap;
use super::stats::{Stats, StatsBoard};
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
    /// With one loop per core: the board every loop publishes its
    /// counters on, and this loop's slot.
    pub(crate) board: Option<(Arc<StatsBoard>, usize)>,
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
            board: None,
        }
    }

    // ----- what protocols use -------------------------------------------

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

    /// Counts `n` requests answered (the `requests=` counter).
    pub fn count_requests(&mut self, n: u64) {
        self.stats.requests += n;
    }

    /// With one loop per core: every loop's counters, and this loop's slot
    /// (`None` for a server of one loop).
    pub fn board(&self) -> Option<(&StatsBoard, usize)> {
        self.board.as_ref().map(|(board, n)| (&**board, *n))
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
}
