//! The buffered connection: one TCP stream, its output queue, and the state
//! machine that decides what the loop may do with it next.
//!
//! Every TCP protocol (echo, chat, HTTP, the client) uses this one type. The
//! loop reads into a shared scratch buffer and hands the bytes straight to the
//! protocol, so a connection owns heap memory only while it has something
//! pending: output the kernel has not taken yet ([`OutQueue`]), or the tail of
//! an incomplete message (`pending_input`).
//!
//! The states, and what moves a connection between them:
//!
//! ```text
//!  Connecting --connected--> Open <--queue below low water-- Paused
//!                             |  \--queue over --max-outbuf (echo, HTTP)--^
//!                             |
//!                             +--end of our input (client)--> SendingFin --flushed--> FinSent
//!                             |
//!                             +--close requested / peer EOF / idle--> Closing --flushed--> Lingering
//!                                                                       |                    |
//!                        peer EOF and flushed: removed <----------------+   peer EOF or linger timer: removed
//! ```
//!
//! `docs/03-connections-as-state-machines.md` draws the same machine in
//! Mermaid, and walks through the close sequence.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use mio::net::TcpStream;
use mio::Interest;

use log::trace;

use super::outqueue::OutQueue;
use super::timer::TimerId;
use super::token::ConnId;
use super::NARRATION;

/// Where a connection is in its life. Each state says which of reading and
/// writing the loop still does. Why a closing connection is closing is
/// kept beside the state (`Connection::close_reason`), so the state
/// itself is a plain value to compare and `match` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Outgoing connect in progress; completion shows up as writable.
    Connecting,
    /// Reading and writing.
    Open,
    /// Output queue over `--max-outbuf`: reads wait until it drains below the
    /// low-water mark, so the peer's TCP window closes (backpressure).
    Paused,
    /// Our side has no more to send (the client's stdin ended): flush the
    /// queue, then shut down our write half. Reading goes on.
    SendingFin,
    /// Our write half is shut; reading goes on until the peer closes.
    FinSent,
    /// Closing: input is read and discarded, queued output is flushed, then
    /// our write half is shut.
    Closing,
    /// Write half shut after a close we started: input is discarded until
    /// the peer closes or the linger timer fires. Closing a socket with
    /// unread input makes the kernel send a reset, which can destroy the
    /// last response before the peer reads it; lingering avoids that.
    Lingering,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            State::Connecting => "Connecting",
            State::Open => "Open",
            State::Paused => "Paused",
            State::SendingFin => "SendingFin",
            State::FinSent => "FinSent",
            State::Closing => "Closing",
            State::Lingering => "Lingering",
        };
        f.write_str(name)
    }
}

/// Where a connection came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Accepted by listening socket number `n` (0 for the first).
    Listener(usize),
    /// An outgoing connect ([`Io::connect`](super::Io::connect)).
    Outgoing,
}

/// Why a connection closed: logged at `debug`, and handed to the protocol.
#[derive(Debug)]
pub enum CloseReason {
    /// The peer closed its side and everything for it was sent.
    PeerClosed,
    /// The protocol asked to close (chat `/quit`, HTTP `Connection: close`).
    Requested,
    /// No input for `--idle-timeout` seconds.
    IdleTimeout,
    /// Output queue passed `--max-outbuf` under a protocol that disconnects
    /// rather than pauses (chat).
    SlowConsumer,
    /// The server is shutting down.
    Shutdown,
    /// The protocol left more unconsumed input than any message may have.
    InputTooLarge,
    /// A read or write failed (reset, broken pipe...).
    Error(io::Error),
    /// An outgoing connect failed.
    ConnectFailed(io::Error),
}

impl CloseReason {
    /// Whether queued output is still worth sending.
    pub(crate) fn flushes(&self) -> bool {
        match self {
            CloseReason::PeerClosed
            | CloseReason::Requested
            | CloseReason::IdleTimeout
            | CloseReason::Shutdown
            | CloseReason::InputTooLarge => true,
            CloseReason::SlowConsumer | CloseReason::Error(_) | CloseReason::ConnectFailed(_) => {
                false
            }
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::PeerClosed => f.write_str("peer closed"),
            CloseReason::Requested => f.write_str("closed by protocol"),
            CloseReason::IdleTimeout => f.write_str("idle timeout"),
            CloseReason::SlowConsumer => f.write_str("slow consumer (output over --max-outbuf)"),
            CloseReason::Shutdown => f.write_str("server shutting down"),
            CloseReason::InputTooLarge => f.write_str("unconsumed input too large"),
            CloseReason::Error(e) => write!(f, "error: {e}"),
            CloseReason::ConnectFailed(e) => write!(f, "connect failed: {e}"),
        }
    }
}

/// One TCP connection in the slab.
#[derive(Debug)]
pub struct Connection {
    /// The socket, non-blocking, registered with the token of `id`.
    pub(crate) stream: TcpStream,
    /// What the loop may do with it next; changed only by
    /// [`set_state`](Connection::set_state).
    pub(crate) state: State,
    /// Why it is closing, from the moment it enters [`State::Closing`].
    pub(crate) close_reason: Option<CloseReason>,
    /// Bytes accepted for sending that the kernel has not taken yet.
    pub(crate) output: OutQueue,
    /// Input the protocol has not consumed yet: the start of a message whose
    /// end has not arrived. Empty (and unallocated) most of the time.
    pub(crate) pending_input: Vec<u8>,
    /// The interest currently registered, so it is re-registered only when
    /// it changes.
    pub(crate) interest: Interest,
    /// Who is at the other end.
    pub(crate) peer: SocketAddr,
    /// Which listener accepted it, or whether we connected.
    pub(crate) origin: Origin,
    /// When a byte last moved either way (or, lingering, when our write
    /// half was shut): what its deadline counts from (`deadline.rs`).
    pub(crate) last_activity: Instant,
    /// Its timer, if one is armed (`deadline.rs`).
    pub(crate) timer: Option<TimerId>,
    /// On the loop's revisit list for the next turn (see `Io::revisit`).
    pub(crate) revisit: bool,
    /// The protocol has done enough for this connection this turn: its
    /// unconsumed input waits for the next (see `Io::hold_input`).
    pub(crate) input_held: bool,
}

impl Connection {
    pub(crate) fn new(
        stream: TcpStream,
        state: State,
        peer: SocketAddr,
        origin: Origin,
        interest: Interest,
        now: Instant,
    ) -> Connection {
        Connection {
            stream,
            state,
            close_reason: None,
            output: OutQueue::default(),
            pending_input: Vec::new(),
            interest,
            peer,
            origin,
            last_activity: now,
            timer: None,
            revisit: false,
            input_held: false,
        }
    }

    /// The one place a connection's state changes, so `--trace` can show
    /// every transition (`conn 4 Open => Closing`), as smoltcp's
    /// `set_state` does for its TCP sockets.
    pub(crate) fn set_state(&mut self, id: ConnId, new: State) {
        if self.state != new {
            trace!(target: NARRATION, "  conn {id} {} => {new}", self.state);
            self.state = new;
        }
    }

    /// Starts closing for `reason`: from here on input is discarded.
    pub(crate) fn begin_closing(&mut self, id: ConnId, reason: CloseReason) {
        self.close_reason = Some(reason);
        self.set_state(id, State::Closing);
    }

    /// The interest this connection needs now, derived from its state and
    /// queue, never toggled ad hoc: always readable (that is also how
    /// resets and hang-ups arrive), writable only while output waits or a
    /// connect is in progress.
    pub(crate) fn wanted_interest(&self) -> Interest {
        let wants_write = matches!(self.state, State::Connecting) || !self.output.is_empty();
        if wants_write {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        }
    }
}

/// `R` or `R+W`, as `--trace` prints an interest.
pub(crate) fn interest_name(interest: Interest) -> &'static str {
    if interest.is_writable() {
        "R+W"
    } else {
        "R"
    }
}
