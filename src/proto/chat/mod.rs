//! `reactor chat`: the line-based chat server (`docs/reference.md`, "reactor chat").
//!
//! Three layers, each in its own file, data flowing one way:
//!
//! ```text
//!  socket -> loop -> TelnetLines -> Command::parse -> ChatState -> [Action] -> Chat -> Io -> socket
//!                    (telnet.rs,    (command.rs)      (state.rs)              (here)
//!                     line.rs)
//! ```
//!
//! * [`crate::proto::telnet`] takes out and answers what a Telnet client
//!   adds to its bytes, and [`crate::proto::line`] cuts them into lines;
//! * [`command`] turns a line into a [`Command`](command::Command);
//! * [`state`] is the chat: members, names, rooms. It knows nothing of
//!   connections, only [`MemberId`]s, and answers with [`Action`]s;
//! * this file is the thin adapter between the loop and that state: it maps
//!   each connection to its member and back, and turns each `Action` into
//!   an [`Io`] call.
//!
//! Every line goes out through [`Io::send_shared`], replies to the sender
//! too: so all output for one connection passes through its one queue, in
//! order, and whatever a connection was given during one loop turn goes out
//! in one `writev` at the end of the turn.
//!
//! A member that does not read is a *slow consumer*: [`Overflow::Disconnect`]
//! makes the loop drop it once its queue passes `--max-outbuf`, and the
//! room hears `* NAME left` from [`Protocol::on_closed`]. Nobody else waits
//! for it; pausing it (echo's answer) would not help, since its queue grows
//! because *others* talk.

pub mod command;
pub mod state;

use std::fmt::Display;
use std::ops::ControlFlow;

use log::debug;

use crate::event_loop::{CloseReason, ConnId, ConnMap, Io, NoTimer, Overflow, Protocol};
use crate::proto::telnet::{Item, TelnetLines};
use state::{Action, ChatState, Departure, MemberId};

/// What a connection refused by `--max-conns` is told before it is closed.
pub const SERVER_FULL: &[u8] = b"! server full\n";

/// What a connection carries while the chat serves it.
#[derive(Debug)]
struct Session {
    /// Its member, until the member leaves (`/quit`, idle); the connection
    /// may still be flushing its last lines after that.
    member: Option<MemberId>,
    /// Its bytes to lines, through a Telnet filter (most peers never send
    /// a Telnet command, and then the filter changes nothing).
    reader: TelnetLines,
}

/// The chat protocol: the loop's callbacks, mapped onto a [`ChatState`].
#[derive(Debug)]
pub struct Chat {
    /// Members, names and rooms.
    state: ChatState,
    /// `--max-line`, for each new connection's framer.
    max_line: usize,
    /// Per connection.
    sessions: ConnMap<Session>,
    /// Per member, indexed by [`MemberId::index`]: its connection.
    conn_of: Vec<Option<ConnId>>,
    /// Actions from the state machine not yet carried out; kept to reuse
    /// its storage.
    actions: Vec<Action>,
}

impl Chat {
    /// A chat server whose lines may be `max_line` bytes long.
    pub fn new(max_line: usize) -> Chat {
        Chat {
            state: ChatState::new(max_line),
            max_line,
            sessions: ConnMap::new(),
            conn_of: Vec::new(),
            actions: Vec::new(),
        }
    }

    /// The member on `conn`, if any.
    fn member(&self, conn: ConnId) -> Option<MemberId> {
        self.sessions.get(conn).and_then(|session| session.member)
    }

    /// Carries out the state machine's actions, in order.
    fn perform(&mut self, io: &mut Io) {
        for action in self.actions.drain(..) {
            match action {
                Action::Send(member, line) => {
                    if let Some(Some(conn)) = self.conn_of.get(member.index()) {
                        io.send_shared(*conn, line);
                    }
                }
                Action::Close(member) => {
                    let Some(conn) = self.conn_of.get_mut(member.index()).and_then(Option::take)
                    else {
                        continue;
                    };
                    debug!("conn={conn} quit");
                    io.close(conn, CloseReason::Requested);
                    if let Some(session) = self.sessions.get_mut(conn) {
                        session.member = None;
                    }
                }
            }
        }
    }

    /// The member on `conn` leaves the chat (the connection may live on a
    /// little, to flush): its room is told, and it is unmapped.
    fn depart(&mut self, io: &mut Io, conn: ConnId, why: Departure, cause: &dyn Display) {
        let Some(member) = self.sessions.get_mut(conn).and_then(|s| s.member.take()) else {
            return;
        };
        if let (Some(name), Some(room)) = (self.state.name(member), self.state.room(member)) {
            debug!("conn={conn} {name} left #{room}: {cause}");
        }
        self.state.leave(member, why, &mut self.actions);
        self.perform(io);
        if let Some(slot) = self.conn_of.get_mut(member.index()) {
            *slot = None;
        }
    }
}

impl Protocol for Chat {
    type Timer = NoTimer;

    const OVERFLOW: Overflow = Overflow::Disconnect;

    fn on_open(&mut self, io: &mut Io, conn: ConnId) {
        // A slot is reused only after on_closed ran for its last occupant,
        // but if that ever changed, the old member must not linger.
        if let Some(stale) = self.sessions.occupant(conn) {
            self.depart(io, stale, Departure::Disconnected, &"slot reused");
            self.sessions.remove(stale);
        }
        let member = self.state.join(&mut self.actions);
        let session = Session {
            member: Some(member),
            reader: TelnetLines::new(self.max_line),
        };
        self.sessions.insert(conn, session);
        if self.conn_of.len() <= member.index() {
            self.conn_of.resize(member.index() + 1, None);
        }
        self.conn_of[member.index()] = Some(conn);
        if let Some(name) = self.state.name(member) {
            debug!("conn={conn} is {name}");
        }
        self.perform(io);
    }

    fn on_input(&mut self, io: &mut Io, conn: ConnId, input: &[u8]) -> usize {
        let Some(session) = self.sessions.get_mut(conn) else {
            return input.len();
        };
        let Some(member) = session.member else {
            return input.len();
        };
        // Out of the sessions table while the lines are handled, so that
        // `perform` may use the table; put back afterwards. It keeps the
        // start of an unfinished line itself: everything is consumed.
        let mut reader = std::mem::replace(&mut session.reader, TelnetLines::new(0));
        let was_telnet = reader.is_telnet();
        let flow = reader.feed(input, |item| {
            match item {
                Item::Reply(negotiation) => io.send(conn, &negotiation),
                Item::Frame(frame) => self.state.input(member, frame, &mut self.actions),
                Item::Garbled => self.state.garbled(member, &mut self.actions),
            }
            // Line by line, so a read full of lines to a big room does not
            // pile up a million actions first.
            self.perform(io);
            match self.member(conn) {
                Some(_) => ControlFlow::Continue(()),
                // `/quit`: the rest of its input is ignored.
                None => ControlFlow::Break(()),
            }
        });
        if !was_telnet && reader.is_telnet() {
            debug!("conn={conn} is a Telnet client: asked for 8-bit data");
        }
        if let (ControlFlow::Continue(()), Some(session)) = (flow, self.sessions.get_mut(conn)) {
            session.reader = reader;
        }
        input.len()
    }

    fn on_peer_closed(&mut self, io: &mut Io, conn: ConnId) {
        // End of input: leave now, and let what is queued for it drain.
        self.depart(io, conn, Departure::Disconnected, &"end of input");
        io.close(conn, CloseReason::PeerClosed);
    }

    fn on_idle(&mut self, io: &mut Io, conn: ConnId) {
        self.depart(io, conn, Departure::Idle, &CloseReason::IdleTimeout);
        io.close(conn, CloseReason::IdleTimeout);
    }

    fn on_closed(&mut self, io: &mut Io, conn: ConnId, reason: &CloseReason) {
        self.depart(io, conn, Departure::Disconnected, reason);
        self.sessions.remove(conn);
    }

    fn refusal(&self) -> &[u8] {
        SERVER_FULL
    }

    fn on_shutdown(&mut self, io: &mut Io) {
        self.state.shut_down(&mut self.actions);
        self.perform(io);
        // Everyone left at once; the loop now closes every connection
        // after flushing it.
        self.conn_of.clear();
        for (_, session) in self.sessions.iter_mut() {
            session.member = None;
        }
    }
}
