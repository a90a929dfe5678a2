//! `reactor chat`: the line-based chat server (`docs/reference.md`, "reactor chat").
//!
//! Three layers, each in its own file, data flowing one way:
//!
//! ```text
//!  socket -> loop -> LineFramer -> Command::parse -> ChatState -> [Action] -> Chat -> Io -> socket
//!                    (line.rs)     (command.rs)      (state.rs)              (here)
//! ```
//!
//! * [`crate::proto::line`] cuts each connection's bytes into lines;
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
pub mod message;
pub mod state;

use std::fmt::Display;
use std::rc::Rc;

use log::debug;

use crate::event_loop::{CloseReason, ConnId, ConnMap, Io, NoTimer, Overflow, Protocol};
use crate::proto::line::LineFramer;
use message::Message;
use state::{Action, ChatState, Departure, MemberId};

/// What a connection refused by `--max-conns` is told before it is closed.
pub const SERVER_FULL: &[u8] = b"! server full\n";

/// Deliveries one connection's input may cause in one loop turn before the
/// rest of its input waits for the next turn ([`Io::hold_input`]). A line
/// to a room of a thousand is a thousand deliveries, so 64 Ki is about 64
/// such lines: a paste into a big room costs the others a few
/// milliseconds per turn, not seconds.
pub const WORK_BUDGET: usize = 64 * 1024;

/// What a connection carries while the chat serves it.
#[derive(Debug)]
struct Session {
    /// Its member, until the member leaves (`/quit`, idle); the connection
    /// may still be flushing its last lines after that.
    member: Option<MemberId>,
    /// Where its next line begins.
    framer: LineFramer,
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
    /// Deliveries carried out since the count was last reset (the work
    /// budget of one connection's turn).
    deliveries: usize,
    /// The last message rendered as a line, and its line: a room's
    /// fan-out is a run of sends of one message, rendered once.
    rendered: Option<(Rc<Message>, Rc<[u8]>)>,
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
            deliveries: 0,
            rendered: None,
        }
    }

    /// `message` as the line a TCP member reads, rendered once however
    /// many members it goes to.
    fn line_of(&mut self, message: &Rc<Message>) -> Rc<[u8]> {
        if let Some((last, line)) = &self.rendered {
            if Rc::ptr_eq(last, message) {
                return Rc::clone(line);
            }
        }
        let mut bytes = Vec::new();
        message.write_line(&mut bytes);
        let line: Rc<[u8]> = Rc::from(bytes);
        self.rendered = Some((Rc::clone(message), Rc::clone(&line)));
        line
    }

    /// The member on `conn`, if any.
    fn member(&self, conn: ConnId) -> Option<MemberId> {
        self.sessions.get(conn).and_then(|session| session.member)
    }

    /// Carries out the state machine's actions, in order.
    fn perform(&mut self, io: &mut Io) {
        let mut actions = std::mem::take(&mut self.actions);
        for action in actions.drain(..) {
            match action {
                Action::Send(member, message) => {
                    if let Some(&Some(conn)) = self.conn_of.get(member.index()) {
                        let line = self.line_of(&message);
                        io.send_shared(conn, line);
                        self.deliveries += 1;
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
        // The storage goes back for the next batch; the cache lets go of
        // the last message.
        self.actions = actions;
        self.rendered = None;
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
            framer: LineFramer::new(self.max_line),
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
        // The framer is two words: work on a copy, so the sessions table
        // is free for `perform` while the lines are handled.
        let mut framer = session.framer.clone();
        let mut lines = framer.lines(input);
        self.deliveries = 0;
        for frame in &mut lines {
            self.state.input(member, frame, &mut self.actions);
            // Line by line, so a read full of lines to a big room does not
            // pile up a million actions first.
            self.perform(io);
            if self.member(conn).is_none() || !io.takes_input(conn) {
                // `/quit`, or closing (a slow consumer dropped): the rest
                // of its input is not worth any work.
                return input.len();
            }
            if self.deliveries >= WORK_BUDGET {
                io.hold_input(conn);
                break;
            }
        }
        let used = lines.consumed();
        if let Some(session) = self.sessions.get_mut(conn) {
            session.framer = framer;
        }
        used
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
