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
//! 3. **revisit** connections that stopped at their read budget last turn,
//!    and listeners that stopped at their accept budget.
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
mod deadline;
mod events;
mod handle;
mod io;
mod output;
mod outqueue;
mod protocol;
mod shutdown;
mod signals;
mod source;
mod stats;
mod timer;
mod token;

pub use accept::bind_listener;
pub use conn::{CloseReason, Origin, State};
pub use conn_map::ConnMap;
pub use handle::{Handle, LoopGroup};
pub use io::{Io, NoTimer, SCRATCH_SIZE};
pub use outqueue::{Chunk, OutQueue};
pub use protocol::{Config, Overflow, Protocol};
pub use source::{PipeReceiver, Readiness, Source, SourceInterest, UdpSocket};
pub use stats::{Stats, StatsBoard};
pub use timer::{TimerId, Timers};
pub use token::{source_token, ConnId, MAX_LISTENERS, MAX_SOURCES};

use std::sync::Arc;
use std::time::{Duration, Instant};

use log::{debug, info, trace, warn};
use mio::event::Event;
use mio::{Events, Poll, Waker};

use accept::Listeners;
use io::TimerKind;
use token::{Owner, WAKER};

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
    /// The listening sockets (none for a client).
    listeners: Listeners,
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
    /// The loops this one stops when a signal reaches it (one loop per
    /// core), if it is one of several.
    group: Option<Arc<LoopGroup>>,
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
            listeners: Listeners::default(),
            phase: Phase::Running,
            handle: Handle::new(waker),
            out_of_fds_since: None,
            last_refusal_warning: None,
            signals: None,
            second_signal: None,
            group: None,
        })
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

    /// Makes this loop one of `group`: stopped with the others, and able
    /// to stop them all when a signal reaches it.
    pub fn join_group(&mut self, group: Arc<LoopGroup>) {
        group.join(self.handle());
        self.group = Some(group);
    }

    /// Publishes this loop's counters in slot `n` of `board` once a turn.
    pub fn publish_stats(&mut self, board: Arc<StatsBoard>, n: usize) {
        self.io.board = Some((board, n));
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
        self.protocol.on_start(&mut self.io, self.handle.clone());
        self.settle();
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
        let revisit = self.io.take_revisits();
        let revisit_sources = std::mem::take(&mut self.io.still_ready_sources);
        let revisit_listeners = std::mem::take(&mut self.listeners.still_ready);
        // One clock read before poll and one after; the handlers of a turn
        // all share the second (`Io::now`).
        let before_poll = Instant::now();
        let timeout =
            if revisit.is_empty() && revisit_sources.is_empty() && revisit_listeners.is_empty() {
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
            if self.io.is_due_for_revisit(id) {
                // An event this turn already read it to its budget.
                continue;
            }
            let (bytes_in, bytes_out) = (self.io.stats.bytes_in, self.io.stats.bytes_out);
            self.read(id, true);
            if self.io.config.trace {
                self.narrate(id, "still ready from last turn", bytes_in, bytes_out);
            }
            self.reap();
        }
        self.revisit_listeners(revisit_listeners);
        for source in revisit_sources {
            self.protocol
                .on_source(&mut self.io, source, Readiness::READABLE);
            self.settle();
        }
        self.fire_timers();
        self.settle();
        if let Some((board, n)) = &self.io.board {
            board.publish(*n, &self.io.stats);
        }
        Ok(())
    }

    /// Where an event goes: the one `match` on tokens.
    fn dispatch(&mut self, event: &Event) {
        match Owner::of(event.token()) {
            Owner::Conn(id) => self.connection_event(id, event),
            Owner::Listener(n) => self.accept(n),
            Owner::Source(n) => {
                self.protocol
                    .on_source(&mut self.io, n, Readiness::of(event));
                self.settle();
            }
            Owner::Waker => self.woken(),
            Owner::Signals => self.signalled(),
            Owner::Unknown => debug!("event for unknown token {}", event.token().0),
        }
    }

    /// Runs every timer that is due.
    fn fire_timers(&mut self) {
        while let Some(kind) = self.io.timers.pop_due(self.io.now) {
            match kind {
                TimerKind::Conn(id) => self.connection_timer(id),
                TimerKind::Stats => {
                    self.log_stats();
                    if let Some(every) = self.io.config.stats_interval {
                        self.io.timers.add(self.io.now + every, TimerKind::Stats);
                    }
                }
                TimerKind::ResumeAccept => self.resume_accepting(),
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

    /// The `--stats-interval` line: this loop's counters or, for one loop
    /// of several, the first loop's line with everyone's totals and each
    /// loop's share (the others say nothing).
    fn log_stats(&self) {
        match &self.io.board {
            None => info!("stats: {}", self.io.stats),
            Some((board, 0)) => {
                let each: Vec<String> = (0..board.len())
                    .map(|n| {
                        let s = board.get(n);
                        let mut share = format!("w{n}: accepted={} open={}", s.accepted, s.open);
                        if s.datagrams_in > 0 {
                            share.push_str(&format!(" datagrams_in={}", s.datagrams_in));
                        }
                        share
                    })
                    .collect();
                info!("stats: {} workers=[{}]", board.total(), each.join(", "));
            }
            Some(_) => {}
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
