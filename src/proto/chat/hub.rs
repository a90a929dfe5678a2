//! The hub: the one chat every transport's members share, and the way its
//! messages reach them.
//!
//! [`ChatState`] knows members only as [`MemberId`]s. The hub keeps, for
//! each member, the [`Route`] its messages take (a TCP connection, a `/ws`
//! WebSocket, a Socket.IO session) and carries out the state machine's
//! actions along those routes, rendering each message once per form
//! (`render.rs`). Every transport enters the chat through the same few
//! calls: [`Hub::join`], [`Hub::line`] or [`Hub::command`], [`Hub::leave`].
//!
//! A transport names the member *and* its route when it calls: a member
//! id is reused once its member has gone (`/quit`), so a transport that has
//! not heard of the departure yet must not act for the next member given
//! that id. The route is what tells them apart.

use std::rc::Rc;

use super::command::Command;
use super::message::Reply;
use super::render::{Form, Renderer};
use super::state::{Action, ChatState, Departure, MemberId};
use super::web::engine::{SessionId, Sessions};
use super::ChatIo;
use crate::event_loop::{CloseReason, ConnId};
use crate::proto::line::Frame;
use crate::proto::web::frame;

/// Where one member's messages go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// A TCP connection: lines.
    Line(ConnId),
    /// A `/ws` WebSocket: one text frame per line.
    WsLine(ConnId),
    /// A Socket.IO session, over whichever transport it uses now.
    SocketIo(SessionId),
}

/// The chat, its members' routes, and the actions on their way out.
#[derive(Debug)]
pub struct Hub {
    /// Members, names, rooms.
    pub state: ChatState,
    /// Each member's route, by [`MemberId::index`].
    routes: Vec<Option<Route>>,
    /// Actions from the state machine not yet carried out (kept to reuse
    /// its storage).
    actions: Vec<Action>,
    /// Every message's forms, built once.
    renderer: Renderer,
    /// Deliveries made since this was last reset: the work one
    /// connection's input caused (see `WORK_BUDGET` in `mod.rs`).
    pub deliveries: usize,
}

impl Hub {
    /// An empty chat whose lines may be `max_line` bytes long.
    pub fn new(max_line: usize) -> Hub {
        Hub {
            state: ChatState::new(max_line),
            routes: Vec::new(),
            actions: Vec::new(),
            renderer: Renderer::default(),
            deliveries: 0,
        }
    }

    /// A new member, reached by `route`: welcomed, and its room told.
    pub fn join(&mut self, io: &mut ChatIo, sessions: &mut Sessions, route: Route) -> MemberId {
        let member = self.state.join(&mut self.actions);
        if self.routes.len() <= member.index() {
            self.routes.resize(member.index() + 1, None);
        }
        self.routes[member.index()] = Some(route);
        self.perform(io, sessions);
        member
    }

    /// Whether `member` is still the one reached by `route`.
    pub fn is_reached_by(&self, member: MemberId, route: Route) -> bool {
        self.routes.get(member.index()) == Some(&Some(route))
    }

    /// A line from a member that speaks lines (TCP, `/ws`): carried out,
    /// its reply sent back as lines.
    pub fn line(
        &mut self,
        io: &mut ChatIo,
        sessions: &mut Sessions,
        member: MemberId,
        route: Route,
        frame: Frame<'_>,
    ) {
        if self.is_reached_by(member, route) {
            self.state.input(member, frame, &mut self.actions);
            self.perform(io, sessions);
        }
    }

    /// A command from a member whose transport renders the reply itself
    /// (Socket.IO: an acknowledgement, or events).
    pub fn command(
        &mut self,
        io: &mut ChatIo,
        sessions: &mut Sessions,
        member: MemberId,
        route: Route,
        command: Command<'_>,
    ) -> Reply {
        if !self.is_reached_by(member, route) {
            return Reply::Silent;
        }
        let reply = self.state.command(member, command, &mut self.actions);
        self.perform(io, sessions);
        reply
    }

    /// `member` leaves without `/quit` (its transport is gone or idle):
    /// its room is told, and its route forgotten.
    pub fn leave(
        &mut self,
        io: &mut ChatIo,
        sessions: &mut Sessions,
        member: MemberId,
        route: Route,
        why: Departure,
    ) {
        if self.is_reached_by(member, route) {
            self.state.leave(member, why, &mut self.actions);
            self.perform(io, sessions);
            self.routes[member.index()] = None;
        }
    }

    /// The server is shutting down: everyone is told, and the chat is
    /// emptied.
    pub fn shut_down(&mut self, io: &mut ChatIo, sessions: &mut Sessions) {
        self.state.shut_down(&mut self.actions);
        self.perform(io, sessions);
        self.routes.clear();
    }

    /// Carries out the state machine's actions, in order.
    fn perform(&mut self, io: &mut ChatIo, sessions: &mut Sessions) {
        let mut actions = std::mem::take(&mut self.actions);
        for action in actions.drain(..) {
            match action {
                Action::Send(member, message) => {
                    let Some(&Some(route)) = self.routes.get(member.index()) else {
                        continue;
                    };
                    self.deliveries += 1;
                    let mut form = |form| self.renderer.get(&message, form);
                    match route {
                        Route::Line(conn) => io.send_shared(conn, form(Form::Line)),
                        Route::WsLine(conn) => io.send_shared(conn, form(Form::LineFrame)),
                        Route::SocketIo(session) => sessions.deliver(io, session, form),
                    }
                }
                Action::Close(member) => {
                    if let Some(route) = self.routes.get_mut(member.index()).and_then(Option::take)
                    {
                        close(io, sessions, route);
                    }
                }
            }
        }
        self.actions = actions;
        self.renderer.forget();
    }
}

/// Ends the transport of a member that quit, once what it was sent is
/// delivered.
fn close(io: &mut ChatIo, sessions: &mut Sessions, route: Route) {
    match route {
        Route::Line(conn) => io.close(conn, CloseReason::Requested),
        Route::WsLine(conn) => {
            let mut bye = Vec::new();
            frame::encode_close(&mut bye, Some(frame::CLOSE_NORMAL), "bye");
            io.send_shared(conn, Rc::from(bye));
            io.close(conn, CloseReason::Requested);
        }
        Route::SocketIo(session) => sessions.end(io, session, "quit"),
    }
}
