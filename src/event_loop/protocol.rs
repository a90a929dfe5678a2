//! The seam between the loop and the protocols: the [`Protocol`] trait,
//! and the small types it speaks in.
//!
//! Readiness reaches a protocol through one trait with one method per kind
//! of event. The loop owns the sockets and the protocol owns its state (per
//! connection, keyed by [`ConnId::index`], plus anything shared, like chat
//! rooms). A callback gets `&mut Io` and acts only through it: send, close,
//! set a timer. So a protocol is a state machine of bytes in and actions
//! out, and a new protocol is one new file.
//!
//! A trait rather than an enum of protocols: one loop runs one protocol, the
//! loop is compiled for it (`Reactor<Echo>`, `Reactor<Chat>`), and every call
//! is static. An enum would make every protocol a variant the loop must name,
//! which is what "the loop knows no protocol" rules out.

use std::fmt;
use std::time::Duration;

#[allow(unused_imports)] // for the docs
use super::NoTimer;
use super::{CloseReason, ConnId, Handle, Io, Origin, Readiness};

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
    /// Most input a protocol may leave unconsumed (the start of a message
    /// whose end has not arrived); a connection over it is closed.
    pub max_input: usize,
}

impl Default for Config {
    /// The defaults of the command line (`docs/reference.md`).
    fn default() -> Self {
        Config {
            max_conns: 10_000,
            idle_timeout: None,
            max_outbuf: 1024 * 1024,
            stats_interval: None,
            shutdown_timeout: Duration::from_secs(5),
            trace: false,
            max_input: 1024 * 1024,
        }
    }
}

/// A protocol: the per-connection state machines the loop drives.
///
/// Every method has a default, so a protocol implements only the events it
/// cares about.
pub trait Protocol {
    /// What to do with a connection whose queued output passes
    /// `--max-outbuf`.
    const OVERFLOW: Overflow = Overflow::PauseReading;

    /// What the protocol's timers stand for: an enum whose values say it
    /// (HTTP: `Date`, `Header(ConnId)`), handed back to
    /// [`on_timer`](Protocol::on_timer) when due. [`NoTimer`](super::NoTimer)
    /// for none.
    type Timer: Copy + fmt::Debug;

    /// The loop starts running; `handle` reaches it from other threads (a
    /// protocol shared by several loops gives it to the others).
    fn on_start(&mut self, _io: &mut Io<Self::Timer>, _handle: Handle) {}

    /// A connection was accepted (or an outgoing connect completed).
    fn on_open(&mut self, _io: &mut Io<Self::Timer>, _conn: ConnId) {}

    /// Bytes arrived. Returns how many were consumed; the rest are kept and
    /// offered again, in front of the next bytes, when more arrive (the
    /// "incomplete message, read more" case).
    /// By default everything is consumed and dropped (a protocol whose
    /// sources are all its own, like UDP echo, never gets input here).
    fn on_input(&mut self, _io: &mut Io<Self::Timer>, _conn: ConnId, input: &[u8]) -> usize {
        input.len()
    }

    /// The peer shut down its write half. By default: finish sending what
    /// is queued, then close.
    fn on_peer_closed(&mut self, io: &mut Io<Self::Timer>, conn: ConnId) {
        io.close(conn, CloseReason::PeerClosed);
    }

    /// No input for `--idle-timeout`. By default: close.
    fn on_idle(&mut self, io: &mut Io<Self::Timer>, conn: ConnId) {
        io.close(conn, CloseReason::IdleTimeout);
    }

    /// The connection is gone (its socket already closed).
    fn on_closed(&mut self, _io: &mut Io<Self::Timer>, _conn: ConnId, _reason: &CloseReason) {}

    /// Sent to a connection refused by `--max-conns` before it is closed;
    /// `origin` says which listener accepted it (one protocol may speak
    /// differently on each).
    fn refusal(&self, _origin: Origin) -> &[u8] {
        b""
    }

    /// A timer set with [`Io::set_timer`] is due.
    fn on_timer(&mut self, _io: &mut Io<Self::Timer>, _timer: Self::Timer) {}

    /// A protocol-owned source (registered with
    /// [`source_token`](super::source_token)`(n)`) is ready. Sources are edge-triggered like
    /// everything else: drain them, or call [`Io::revisit_source`] to be
    /// called again next turn.
    fn on_source(&mut self, _io: &mut Io<Self::Timer>, _source: usize, _ready: Readiness) {}

    /// A connection's output queue has just been emptied: a producer that
    /// paused for backpressure (the client reading stdin) may go on.
    fn on_drained(&mut self, _io: &mut Io<Self::Timer>, _conn: ConnId) {}

    /// The loop's waker was woken (by a helper thread of the protocol).
    fn on_wake(&mut self, _io: &mut Io<Self::Timer>) {}

    /// Graceful shutdown began; every connection will be closed after
    /// its queue is flushed.
    fn on_shutdown(&mut self, _io: &mut Io<Self::Timer>) {}

    /// Whether the loop may end: by default once every connection closed.
    /// A protocol with work of its own (UDP replies) can ask for more time.
    fn is_idle(&self) -> bool {
        true
    }
}
