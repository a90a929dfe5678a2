//! The hub: the one chat every transport's members share, and the way its
//! messages reach them.
//!
//! [`ChatState`](super::state::ChatState) knows members only as [`MemberId`]s. The hub keeps, for
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
//!
//! With `--workers N` every worker has a hub; the chat state is one, shared
//! (`shared.rs`), and a member of another worker is reached through that
//! worker's inbox: the hub sends each message there once, with the list
//! of its members, and the other hub delivers it along its own routes.

use std::rc::Rc;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use super::command::Command;
use super::message::{Message, Reply};
use super::render::{Form, Renderer};
use super::shared::{Batch, Directory, Shared};
use super::state::{Action, Departure, MemberId};
use super::web::engine::{SessionId, Sessions};
use super::ChatIo;
use crate::event_loop::{CloseReason, ConnId, Handle};
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
    /// Members, names, rooms, shared by every worker.
    shared: Arc<Shared>,
    /// Which worker this hub is.
    worker: usize,
    /// Messages from other workers for this one's members.
    inbox: Receiver<Batch>,
    /// Each of this worker's members' route, by [`MemberId::index`].
    routes: Vec<Option<Route>>,
    /// Actions from the state machine not yet carried out (kept to reuse
    /// its storage), with the worker serving each recipient.
    actions: Vec<Action>,
    /// The worker serving the recipient of each action, in order.
    owners: Vec<Option<usize>>,
    /// Every message's forms, built once.
    renderer: Renderer,
    /// Deliveries made since this was last reset: the work one
    /// connection's input caused (see `WORK_BUDGET` in `mod.rs`).
    pub deliveries: usize,
}

impl Hub {
    /// An empty chat of one worker whose lines may be `max_line` bytes
    /// long.
    pub fn new(max_line: usize) -> Hub {
        let (shared, mut inboxes) = Shared::new(1, max_line);
        let inbox = inboxes.remove(0);
        Hub::of_worker(shared, 0, inbox)
    }

    /// Worker `worker`'s hub of the chat `shared`, with its inbox.
    pub fn of_worker(shared: Arc<Shared>, worker: usize, inbox: Receiver<Batch>) -> Hub {
        Hub {
            shared,
            worker,
            inbox,
            routes: Vec::new(),
            actions: Vec::new(),
            owners: Vec::new(),
            renderer: Renderer::default(),
            deliveries: 0,
        }
    }

    /// This worker's loop runs: other workers may wake it from now on.
    pub fn started(&mut self, io: &mut ChatIo, sessions: &mut Sessions, handle: Handle) {
        self.shared.set_handle(self.worker, handle);
        self.receive(io, sessions);
    }

    /// Runs `step` on the shared chat state, under its lock, and notes the
    /// worker serving each recipient of what it did; the lock is let go
    /// before anything is sent.
    fn locked<R>(&mut self, step: impl FnOnce(&mut Directory, &mut Vec<Action>) -> R) -> R {
        let mut directory = self.shared.lock();
        let result = step(&mut directory, &mut self.actions);
        self.owners.clear();
        for action in &self.actions {
            let member = match action {
                Action::Send(member, _) | Action::Close(member) => *member,
            };
            self.owners.push(directory.owner(member));
        }
        // A member that quit is nobody's from here on.
        for action in &self.actions {
            if let Action::Close(member) = action {
                directory.set_owner(*member, None);
            }
        }
        result
    }

    /// A new member, reached by `route`: welcomed, and its room told.
    pub fn join(&mut self, io: &mut ChatIo, sessions: &mut Sessions, route: Route) -> MemberId {
        let worker = self.worker;
        let member = self.locked(|directory, actions| {
            let member = directory.chat.join(actions);
            directory.set_owner(member, Some(worker));
            member
        });
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

    /// `member`'s name and room, while it is in the chat (for logs).
    pub fn describe(&self, member: MemberId) -> Option<(String, String)> {
        let directory = self.shared.lock();
        let name = directory.chat.name(member)?.to_string();
        let room = directory.chat.room(member)?.to_string();
        Some((name, room))
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
            self.locked(|d, actions| d.chat.input(member, frame, actions));
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
        let reply = self.locked(|d, actions| d.chat.command(member, command, actions));
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
            self.locked(|d, actions| {
                d.chat.leave(member, why, actions);
                d.set_owner(member, None);
            });
            self.perform(io, sessions);
            self.routes[member.index()] = None;
        }
    }

    /// The server is shutting down: this worker's members are told, and
    /// leave the chat.
    pub fn shut_down(&mut self, io: &mut ChatIo, sessions: &mut Sessions) {
        let worker = self.worker;
        self.locked(|d, actions| {
            let mine = d.members_of(worker);
            d.chat.shut_down(&mine, actions);
            for &member in &mine {
                d.set_owner(member, None);
            }
        });
        // Owners were noted after the members left: the notices are all
        // for this worker's members.
        self.owners.iter_mut().for_each(|owner| *owner = None);
        self.perform(io, sessions);
        self.routes.clear();
    }

    /// Delivers what other workers sent for this worker's members.
    pub fn receive(&mut self, io: &mut ChatIo, sessions: &mut Sessions) {
        while let Ok(batch) = self.inbox.try_recv() {
            // One local copy, shared by every member here.
            let message = Rc::new(Message::clone(&batch.message));
            for member in batch.members {
                self.deliver(io, sessions, member, &message);
            }
            self.renderer.forget();
        }
    }

    /// Carries out the state machine's actions, in order: this worker's
    /// members along their routes, other workers' through their inboxes,
    /// one batch per worker per message.
    fn perform(&mut self, io: &mut ChatIo, sessions: &mut Sessions) {
        let mut actions = std::mem::take(&mut self.actions);
        let owners = std::mem::take(&mut self.owners);
        let mut remote = Remote::default();
        for (action, owner) in actions.drain(..).zip(owners.iter().copied()) {
            match (action, owner) {
                (Action::Send(member, message), Some(owner)) if owner != self.worker => {
                    remote.add(&self.shared, owner, member, &message);
                }
                (Action::Send(member, message), _) => {
                    self.deliver(io, sessions, member, &message);
                }
                (Action::Close(member), _) => {
                    if let Some(route) = self.routes.get_mut(member.index()).and_then(Option::take)
                    {
                        close(io, sessions, route);
                    }
                }
            }
        }
        remote.post(&self.shared);
        self.actions = actions;
        self.owners = owners;
        self.renderer.forget();
    }

    /// One message to one of this worker's members, along its route.
    fn deliver(
        &mut self,
        io: &mut ChatIo,
        sessions: &mut Sessions,
        member: MemberId,
        message: &Rc<Message>,
    ) {
        let Some(&Some(route)) = self.routes.get(member.index()) else {
            return;
        };
        self.deliveries += 1;
        let mut form = |form| self.renderer.get(message, form);
        match route {
            Route::Line(conn) => io.send_shared(conn, form(Form::Line)),
            Route::WsLine(conn) => io.send_shared(conn, form(Form::LineFrame)),
            Route::SocketIo(session) => sessions.deliver(io, session, form),
        }
    }
}

/// Messages on their way to other workers: for the message being
/// delivered, its recipients on each worker.
#[derive(Debug, Default)]
struct Remote {
    /// The message, as this worker has it, and as it travels.
    message: Option<(Rc<Message>, Arc<Message>)>,
    /// Its recipients, by worker.
    members: Vec<Vec<MemberId>>,
}

impl Remote {
    /// `member` of `worker` is sent `message`.
    fn add(&mut self, shared: &Shared, worker: usize, member: MemberId, message: &Rc<Message>) {
        let same = matches!(&self.message, Some((current, _)) if Rc::ptr_eq(current, message));
        if !same {
            self.post(shared);
            let travelling = Arc::new(Message::clone(message));
            self.message = Some((Rc::clone(message), travelling));
        }
        if self.members.len() < shared.workers() {
            self.members.resize_with(shared.workers(), Vec::new);
        }
        if let Some(list) = self.members.get_mut(worker) {
            list.push(member);
        }
    }

    /// Sends the current message to every worker that has recipients.
    fn post(&mut self, shared: &Shared) {
        let Some((_, message)) = self.message.take() else {
            return;
        };
        for (worker, members) in self.members.iter_mut().enumerate() {
            if !members.is_empty() {
                let members = std::mem::take(members);
                let message = Arc::clone(&message);
                shared.post(worker, Batch { message, members });
            }
        }
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
