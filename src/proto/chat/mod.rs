//! `reactor chat`: the chat server (`docs/reference.md`, "reactor chat"),
//! for `nc` and `telnet` users on its TCP port and, with `--web`, for
//! browsers, `/ws` WebSockets and Socket.IO clients on its web port: one
//! chat, whatever way a member came in.
//!
//! Layers, each in its own file, data flowing one way:
//!
//! ```text
//!  socket -> loop -> TelnetLines -> Command::parse -> ChatState -> [Action] -> Hub -> Io -> socket
//!                    (telnet.rs,    (command.rs)      (state.rs)               (hub.rs)
//!                     line.rs)
//!          web/: HTTP, WebSocket frames, Engine.IO sessions, Socket.IO events -> Command
//! ```
//!
//! * [`crate::proto::telnet`] takes out and answers what a Telnet client
//!   adds to a TCP member's bytes, and [`crate::proto::line`] cuts them
//!   into lines;
//! * [`command`] turns a line into a [`Command`](command::Command);
//! * [`state`] is the chat: members, names, rooms. It knows nothing of
//!   transports, only [`MemberId`]s, and answers with [`Action`](state::Action)s carrying
//!   [`message`]s, and [`Reply`](message::Reply)s to commands;
//! * [`hub`] keeps each member's route and carries the actions out,
//!   rendering each message once per form ([`render`]);
//! * [`web`] is the web listener: the page, `/ws`, Socket.IO;
//! * this file is the adapter: which listener a connection came from
//!   decides which transport serves it.
//!
//! Every line goes out through [`Io::send_shared`](crate::event_loop::Io::send_shared), replies to the sender
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
pub mod hub;
pub mod message;
pub mod render;
pub mod shared;
pub mod state;
pub mod web;

use std::fmt::Display;
use std::ops::ControlFlow;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use log::debug;

use crate::event_loop::{CloseReason, ConnId, ConnMap, Handle, Origin, Overflow, Protocol};
use crate::proto::telnet::{Item, Stopped, TelnetLines};
use crate::proto::web::engineio::Heartbeat;
use hub::{Hub, Route};
use shared::{Batch, Shared};
use state::{Departure, MemberId};
use web::engine::{ChatIo, EngineTimer};
use web::Web;

/// What a connection refused by `--max-conns` is told before it is closed.
pub const SERVER_FULL: &[u8] = b"! server full\n";

/// The same refusal for the web listener, in HTTP.
const SERVER_FULL_HTTP: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 12\r\nConnection: close\r\n\r\nserver full\n";

/// Deliveries one connection's input may cause in one loop turn before the
/// rest of its input waits for the next turn ([`Io::hold_input`](crate::event_loop::Io::hold_input)).
/// A line to a room of a thousand is a thousand deliveries, so 64 Ki is
/// about 64 such lines: a paste into a big room costs the others a few
/// milliseconds per turn, not seconds.
pub const WORK_BUDGET: usize = 64 * 1024;

/// The listener that serves the web side, when there is one.
const WEB_LISTENER: usize = 1;

/// A TCP member's connection.
#[derive(Debug)]
struct LineConn {
    /// Its member, until the member leaves (`/quit`, idle); the connection
    /// may still be flushing its last lines after that.
    member: Option<MemberId>,
    /// Its bytes to lines, through a Telnet filter (most peers never send
    /// a Telnet command, and then the filter changes nothing).
    reader: TelnetLines,
}

/// The chat protocol: the loop's callbacks, mapped onto the hub.
#[derive(Debug)]
pub struct Chat {
    /// The chat and its members' routes.
    hub: Hub,
    /// TCP members' connections.
    lines: ConnMap<LineConn>,
    /// The web listener's connections and Socket.IO sessions.
    web: Web,
    /// `--max-line`, for each new connection's reader.
    max_line: usize,
}

impl Chat {
    /// A chat server whose lines may be `max_line` bytes long, and whose
    /// Socket.IO members may have `max_outbuf` bytes waiting for a poll
    /// and are pinged as `heartbeat` says.
    pub fn new(max_line: usize, max_outbuf: usize, heartbeat: Heartbeat) -> Chat {
        let (shared, mut inboxes) = Shared::new(1, max_line);
        Chat::of_worker(
            shared,
            0,
            inboxes.remove(0),
            max_line,
            max_outbuf,
            heartbeat,
        )
    }

    /// Worker `worker`'s part of the chat `shared` (`--workers`), with its
    /// inbox; limits as for [`Chat::new`].
    pub fn of_worker(
        shared: Arc<Shared>,
        worker: usize,
        inbox: Receiver<Batch>,
        max_line: usize,
        max_outbuf: usize,
        heartbeat: Heartbeat,
    ) -> Chat {
        Chat {
            hub: Hub::of_worker(shared, worker, inbox),
            lines: ConnMap::new(),
            web: Web::new(max_line, max_outbuf, heartbeat),
            max_line,
        }
    }

    /// The member on TCP connection `conn` leaves the chat (the connection
    /// may live on a little, to flush): its room is told.
    fn depart(&mut self, io: &mut ChatIo, conn: ConnId, why: Departure, cause: &dyn Display) {
        let Some(member) = self.lines.get_mut(conn).and_then(|c| c.member.take()) else {
            return;
        };
        if let Some((name, room)) = self.hub.describe(member) {
            debug!("conn={conn} {name} left #{room}: {cause}");
        }
        let sessions = &mut self.web.sessions;
        self.hub.leave(io, sessions, member, Route::Line(conn), why);
    }

    /// A TCP member's bytes: its lines, one by one, within the turn's
    /// work budget.
    fn line_input(&mut self, io: &mut ChatIo, conn: ConnId, input: &[u8]) -> usize {
        let Some(LineConn {
            member: Some(member),
            reader,
        }) = self.lines.get_mut(conn)
        else {
            return input.len();
        };
        let (member, route) = (*member, Route::Line(conn));
        // Out of the table while the lines are handled, so that the hub
        // may use it; put back afterwards.
        let mut reader = std::mem::replace(reader, TelnetLines::new(0));
        let was_telnet = reader.is_telnet();
        self.hub.deliveries = 0;
        let flow = reader.feed(input, |item| {
            match item {
                Item::Reply(negotiation) => io.send(conn, &negotiation),
                // Line by line, so a read full of lines to a big room does
                // not pile up a million actions first.
                Item::Frame(frame) => {
                    let sessions = &mut self.web.sessions;
                    self.hub.line(io, sessions, member, route, frame);
                }
            }
            if !self.hub.is_reached_by(member, route) || !io.takes_input(conn) {
                // `/quit`, or closing (a slow consumer dropped): the rest
                // of its input is not worth any work.
                return ControlFlow::Break(Stop::Gone);
            }
            if self.hub.deliveries >= WORK_BUDGET {
                return ControlFlow::Break(Stop::Budget);
            }
            ControlFlow::Continue(())
        });
        if !was_telnet && reader.is_telnet() {
            debug!("conn={conn} is a Telnet client: asked for 8-bit data");
        }
        let used = match flow {
            ControlFlow::Continue(()) => input.len(),
            ControlFlow::Break(Stopped {
                why: Stop::Gone, ..
            }) => return input.len(),
            ControlFlow::Break(Stopped {
                why: Stop::Budget,
                consumed,
            }) => {
                io.hold_input(conn);
                consumed
            }
        };
        if let Some(line_conn) = self.lines.get_mut(conn) {
            line_conn.reader = reader;
        }
        used
    }
}

/// Why a TCP member's input stopped being read before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// The member is gone: the rest is dropped.
    Gone,
    /// Its work budget for this turn is spent: the rest waits.
    Budget,
}

impl Protocol for Chat {
    type Timer = EngineTimer;

    const OVERFLOW: Overflow = Overflow::Disconnect;

    fn on_open(&mut self, io: &mut ChatIo, conn: ConnId) {
        if io.origin(conn) == Some(Origin::Listener(WEB_LISTENER)) {
            return self.web.open(conn);
        }
        // A slot is reused only after on_closed ran for its last occupant,
        // but if that ever changed, the old member must not linger.
        if let Some(stale) = self.lines.occupant(conn) {
            self.depart(io, stale, Departure::Disconnected, &"slot reused");
            self.lines.remove(stale);
        }
        let member = self.hub.join(io, &mut self.web.sessions, Route::Line(conn));
        let reader = TelnetLines::new(self.max_line);
        self.lines.insert(
            conn,
            LineConn {
                member: Some(member),
                reader,
            },
        );
        if let Some((name, _)) = self.hub.describe(member) {
            debug!("conn={conn} is {name}");
        }
        self.web.settle(&mut self.hub, io);
    }

    fn on_input(&mut self, io: &mut ChatIo, conn: ConnId, input: &[u8]) -> usize {
        let used = if self.web.owns(conn) {
            self.hub.deliveries = 0;
            self.web.input(&mut self.hub, io, conn, input)
        } else {
            self.line_input(io, conn, input)
        };
        self.web.settle(&mut self.hub, io);
        used
    }

    fn on_peer_closed(&mut self, io: &mut ChatIo, conn: ConnId) {
        // End of input: leave now, and let what is queued drain.
        self.depart(io, conn, Departure::Disconnected, &"end of input");
        io.close(conn, CloseReason::PeerClosed);
        self.web.settle(&mut self.hub, io);
    }

    fn on_idle(&mut self, io: &mut ChatIo, conn: ConnId) {
        if self.web.owns(conn) {
            self.web.idle(&mut self.hub, io, conn);
        } else {
            self.depart(io, conn, Departure::Idle, &CloseReason::IdleTimeout);
            io.close(conn, CloseReason::IdleTimeout);
        }
        self.web.settle(&mut self.hub, io);
    }

    fn on_closed(&mut self, io: &mut ChatIo, conn: ConnId, reason: &CloseReason) {
        if self.web.owns(conn) {
            self.web.closed(&mut self.hub, io, conn);
        } else {
            self.depart(io, conn, Departure::Disconnected, reason);
            self.lines.remove(conn);
        }
        self.web.settle(&mut self.hub, io);
    }

    fn refusal(&self, origin: Origin) -> &[u8] {
        match origin {
            Origin::Listener(WEB_LISTENER) => SERVER_FULL_HTTP,
            Origin::Listener(_) | Origin::Outgoing => SERVER_FULL,
        }
    }

    fn on_start(&mut self, io: &mut ChatIo, handle: Handle) {
        self.hub.started(io, &mut self.web.sessions, handle);
        self.web.settle(&mut self.hub, io);
    }

    fn on_wake(&mut self, io: &mut ChatIo) {
        // Other workers' messages for members here.
        self.hub.receive(io, &mut self.web.sessions);
        self.web.settle(&mut self.hub, io);
    }

    fn on_timer(&mut self, io: &mut ChatIo, timer: EngineTimer) {
        self.web.timer(io, timer);
        self.web.settle(&mut self.hub, io);
    }

    fn on_shutdown(&mut self, io: &mut ChatIo) {
        self.hub.shut_down(io, &mut self.web.sessions);
        self.web.shut_down(io);
        // Everyone left at once; the loop now closes every connection
        // after flushing it.
        for (_, line_conn) in self.lines.iter_mut() {
            line_conn.member = None;
        }
    }
}
