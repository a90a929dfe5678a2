//! The chat's web listener (`reactor chat --web ADDR`): the chat page for
//! browsers, a plain WebSocket that speaks the line protocol, and
//! Socket.IO for its official clients, all on the chat's one loop.
//!
//! ```text
//!  GET /             the page (page.html, compiled in)
//!  GET /ws           WebSocket: one text frame per chat line, each way
//!  /socket.io/       Engine.IO 4: long-polling (GET held, POST) and
//!                    WebSocket, with the upgrade; Socket.IO 5 inside
//!  anything else     404
//! ```
//!
//! Each connection here is a small state machine, `WebConn`: it reads
//! HTTP/1.1 requests (`request.rs`) until one upgrades it to a WebSocket,
//! whose frames the RFC 6455 decoder (`proto/web/frame`) reads from then
//! on. Engine.IO sessions (`engine.rs`) outlive connections; Socket.IO
//! (`socket.rs`) turns their events into chat commands. Members of every
//! kind meet in the same [`Hub`].

pub mod engine;
pub mod request;
pub mod response;
pub mod socket;

use std::rc::Rc;

use log::{debug, warn};

use super::hub::{Hub, Route};
use super::state::{Departure, MemberId};
use super::WORK_BUDGET;
use crate::event_loop::{CloseReason, ConnId, ConnMap, NARRATION};
use crate::proto::line::Frame;
use crate::proto::web::engineio::{self, Heartbeat, RequestError, MAX_PAYLOAD};
use crate::proto::web::frame::{self, Event, FrameDecoder, Role};
use crate::proto::web::handshake;
use engine::{bad_request, close_websocket, ChatIo, EngineTimer, SessionId, Sessions, Transport};
use request::{HeadError, Method, Request};
use response::{respond, Status, Then};

/// The chat page: one HTML file, no framework, nothing fetched from
/// elsewhere.
pub const PAGE: &str = include_str!("page.html");

/// Most input a web connection may leave unconsumed: a request head and a
/// polling body of Engine.IO's largest payload, which are read whole.
pub const WEB_MAX_INPUT: usize = MAX_PAYLOAD + request::MAX_HEAD;

/// What a WebSocket carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WsRole {
    /// `/ws`: chat lines, for this member (`None` once it has left).
    Lines(Option<MemberId>),
    /// `/socket.io/`: Engine.IO packets of this session.
    Engine(SessionId),
}

/// One connection on the web listener.
#[derive(Debug)]
enum WebConn {
    /// Reading HTTP/1.1 requests.
    Http,
    /// Upgraded: reading WebSocket frames.
    Ws {
        /// Frames in any chunking to messages.
        decoder: FrameDecoder,
        /// What the messages are.
        role: WsRole,
    },
}

/// What one request did to its connection.
enum Next {
    /// Answered; read the next request.
    Answered,
    /// Upgraded to a WebSocket: read frames from here on.
    Upgraded(WsRole),
    /// Held (a long-poll) or answered with its own `Connection` handling.
    Held,
    /// Answered with a close: read nothing more.
    Closed,
}

/// The web side of the chat: its connections and Engine.IO sessions.
#[derive(Debug)]
pub struct Web {
    conns: ConnMap<WebConn>,
    /// Engine.IO sessions.
    pub sessions: Sessions,
    /// `--max-line`, for the text of events and `/ws` frames.
    max_line: usize,
}

impl Web {
    /// The web side of a chat with these limits, whose Engine.IO sessions
    /// keep `heartbeat`.
    pub fn new(max_line: usize, max_outbuf: usize, heartbeat: Heartbeat) -> Web {
        Web {
            conns: ConnMap::new(),
            sessions: Sessions::new(max_outbuf, heartbeat),
            max_line,
        }
    }

    /// Whether `conn` is one of the web listener's.
    pub fn owns(&self, conn: ConnId) -> bool {
        self.conns.contains(conn)
    }

    /// A connection on the web listener: it starts with HTTP.
    pub fn open(&mut self, conn: ConnId) {
        self.conns.insert(conn, WebConn::Http);
    }

    /// Bytes from a web connection; returns how many were used.
    pub fn input(&mut self, hub: &mut Hub, io: &mut ChatIo, conn: ConnId, input: &[u8]) -> usize {
        let mut used = 0;
        while used < input.len() && io.takes_input(conn) {
            let step = match self.conns.get(conn) {
                Some(WebConn::Http) => self.http(hub, io, conn, &input[used..]),
                Some(WebConn::Ws { .. }) => self.websocket(hub, io, conn, &input[used..]),
                None => return input.len(),
            };
            match step {
                Some(0) | None => return used + step.unwrap_or(0),
                Some(n) => used += n,
            }
            if hub.deliveries >= WORK_BUDGET {
                io.hold_input(conn);
                break;
            }
        }
        used
    }

    /// One request at the start of `input`: `Some(bytes used)`, or `None`
    /// when its head or body has not fully arrived.
    fn http(
        &mut self,
        hub: &mut Hub,
        io: &mut ChatIo,
        conn: ConnId,
        input: &[u8],
    ) -> Option<usize> {
        let req = match request::parse(input) {
            Ok(Some(req)) => req,
            Ok(None) => return None,
            Err(e) => {
                let status = match e {
                    HeadError::Malformed => Status::BadRequest,
                    HeadError::TooLarge => Status::HeadTooLarge,
                    HeadError::Chunked => Status::NotImplemented,
                };
                respond(io, conn, status, "text/plain", b"", Then::Close);
                return Some(input.len());
            }
        };
        if req.body_len > MAX_PAYLOAD {
            respond(io, conn, Status::TooLarge, "text/plain", b"", Then::Close);
            return Some(input.len());
        }
        let end = req.head_len + req.body_len;
        let body = input.get(req.head_len..end)?;
        match self.route(hub, io, conn, &req, body) {
            Next::Answered if !req.keep_alive => io.close(conn, CloseReason::Requested),
            Next::Answered | Next::Held => {}
            Next::Upgraded(role) => {
                let decoder = FrameDecoder::new(Role::Server, MAX_PAYLOAD);
                self.conns.insert(conn, WebConn::Ws { decoder, role });
                log::trace!(target: NARRATION, "  conn {conn} upgraded to websocket ({role:?})");
            }
            Next::Closed => return Some(input.len()),
        }
        Some(end)
    }

    /// Answers one whole request.
    fn route(
        &mut self,
        hub: &mut Hub,
        io: &mut ChatIo,
        conn: ConnId,
        req: &Request,
        body: &[u8],
    ) -> Next {
        match (req.method, req.path.as_str()) {
            (Method::Get, "/" | "/index.html") => {
                let html = "text/html; charset=utf-8";
                respond(io, conn, Status::Ok, html, PAGE.as_bytes(), Then::KeepAlive);
                Next::Answered
            }
            (Method::Get, "/ws") => match upgrade(io, conn, req) {
                Some(()) => {
                    let member = hub.join(io, &mut self.sessions, Route::WsLine(conn));
                    Next::Upgraded(WsRole::Lines(Some(member)))
                }
                None => Next::Closed,
            },
            (_, "/socket.io/") => self.engine(hub, io, conn, req, body),
            (Method::Other, "/" | "/ws") => {
                respond(
                    io,
                    conn,
                    Status::MethodNotAllowed,
                    "text/plain",
                    b"",
                    Then::KeepAlive,
                );
                Next::Answered
            }
            _ => {
                respond(
                    io,
                    conn,
                    Status::NotFound,
                    "text/plain",
                    b"not found\n",
                    Then::KeepAlive,
                );
                Next::Answered
            }
        }
    }

    /// A `/socket.io/` request: open, poll, post to, or upgrade a session.
    fn engine(
        &mut self,
        hub: &mut Hub,
        io: &mut ChatIo,
        conn: ConnId,
        req: &Request,
        body: &[u8],
    ) -> Next {
        let query = match engineio::parse_query(&req.query) {
            Ok(query) => query,
            Err(e) => {
                bad_request(io, conn, e);
                return Next::Answered;
            }
        };
        let session = query.sid.map(|sid| self.sessions.find(sid));
        match (query.transport, req.method, session) {
            (_, _, Some(None)) => bad_request(io, conn, RequestError::UnknownSession),
            (engineio::Transport::Polling, Method::Get, None) => {
                let (_, open) = self.sessions.open(io, Transport::Polling);
                respond(
                    io,
                    conn,
                    Status::Ok,
                    "text/plain; charset=UTF-8",
                    &open,
                    Then::KeepAlive,
                );
            }
            (engineio::Transport::Polling, Method::Get, Some(Some(id))) => {
                // Held, perhaps: the answer (not this call) closes it if
                // the client asked for a close.
                self.sessions.poll(io, id, conn, then(req));
                return Next::Held;
            }
            (engineio::Transport::Polling, Method::Post, Some(Some(id))) => {
                self.post(hub, io, conn, id, body)
            }
            (engineio::Transport::WebSocket, Method::Get, session) => {
                if upgrade(io, conn, req).is_none() {
                    return Next::Closed;
                }
                let id = match session {
                    Some(Some(id)) => id,
                    _ => self.sessions.open(io, Transport::WebSocket(conn)).0,
                };
                return Next::Upgraded(WsRole::Engine(id));
            }
            _ => bad_request(io, conn, RequestError::BadRequest),
        }
        Next::Answered
    }

    /// A polling `POST`: its packets, in order; then `ok`.
    fn post(&mut self, hub: &mut Hub, io: &mut ChatIo, conn: ConnId, id: SessionId, body: &[u8]) {
        let packets = match engineio::decode_payload(body) {
            Ok(packets) => packets,
            Err(engineio::PacketError::Binary) => {
                // A `b` packet: an attachment, as over a WebSocket.
                warn!("conn={conn}: {BINARY_REFUSED}");
                bad_request(io, conn, RequestError::BadRequest);
                return self.sessions.end(io, id, "binary attachment");
            }
            Err(e) => {
                debug!("polling body refused: {e}");
                bad_request(io, conn, RequestError::BadRequest);
                return self.sessions.end(io, id, "malformed body");
            }
        };
        for packet in packets {
            if let Some(data) = self.sessions.receive(io, id, None, packet) {
                socket::receive(hub, io, &mut self.sessions, id, data, self.max_line);
            }
        }
        respond(
            io,
            conn,
            Status::Ok,
            "text/plain; charset=UTF-8",
            b"ok",
            Then::KeepAlive,
        );
    }

    /// Frames at the start of `input`: handles one event; `Some(bytes
    /// used)`, or `None` when no whole frame has arrived.
    fn websocket(
        &mut self,
        hub: &mut Hub,
        io: &mut ChatIo,
        conn: ConnId,
        input: &[u8],
    ) -> Option<usize> {
        let Some(WebConn::Ws { decoder, role }) = self.conns.get_mut(conn) else {
            return Some(input.len());
        };
        let role = *role;
        let (used, event) = decoder.decode(input);
        let event = match event {
            Ok(Some(event)) => event,
            Ok(None) => return (used > 0).then_some(used),
            Err(e) => {
                debug!("conn={conn} websocket closed with {}: {e}", e.close_code());
                self.close_websocket(hub, io, conn, e.close_code());
                return Some(input.len());
            }
        };
        match (event, role) {
            (Event::Text(text), WsRole::Lines(Some(member))) => {
                let frame = if text.len() > self.max_line {
                    Frame::TooLong
                } else {
                    Frame::Line(text)
                };
                hub.line(io, &mut self.sessions, member, Route::WsLine(conn), frame);
            }
            (Event::Text(text), WsRole::Engine(id)) => match engineio::decode_packet(text) {
                Ok(packet) => {
                    if let Some(data) = self.sessions.receive(io, id, Some(conn), packet) {
                        socket::receive(hub, io, &mut self.sessions, id, data, self.max_line);
                    }
                }
                Err(e) => {
                    debug!("conn={conn} bad Engine.IO packet: {e}");
                    self.sessions.end(io, id, "malformed packet");
                }
            },
            (Event::Text(_), WsRole::Lines(None)) | (Event::Pong(_), _) => {}
            // A binary frame on Engine.IO is how Socket.IO sends an
            // attachment: refused as the `45x-` packet announcing one is,
            // with the warning the operator is promised.
            (Event::Binary(_), WsRole::Engine(id)) => {
                warn!("conn={conn}: {BINARY_REFUSED}");
                self.sessions.end(io, id, "binary attachment");
            }
            (Event::Binary(_), WsRole::Lines(_)) => {
                self.close_websocket(hub, io, conn, CLOSE_UNSUPPORTED);
            }
            (Event::Ping(payload), _) => {
                let mut pong = Vec::new();
                frame::encode_pong(&mut pong, payload);
                io.send(conn, &pong);
            }
            (Event::Close { code, .. }, _) => {
                // Answer the close handshake with the same code, then close.
                self.close_websocket(hub, io, conn, code.unwrap_or(frame::CLOSE_NORMAL));
            }
        }
        Some(used)
    }

    /// The server ends WebSocket `conn` with a close frame of `code`, and
    /// its member leaves the chat now. Not later, when the connection is
    /// gone: the loop may linger on it for a while after the close frame
    /// (until the peer closes its end too), and the room must not keep a
    /// member, or send it messages, that nobody reads any more.
    fn close_websocket(&mut self, hub: &mut Hub, io: &mut ChatIo, conn: ConnId, code: u16) {
        close_websocket(io, conn, code);
        if let Some(WebConn::Ws {
            role: WsRole::Lines(member),
            ..
        }) = self.conns.get_mut(conn)
        {
            if let Some(member) = member.take() {
                let route = Route::WsLine(conn);
                let why = Departure::Disconnected;
                hub.leave(io, &mut self.sessions, member, route, why);
            }
        }
        // A Socket.IO session this WebSocket carried ends the same way.
        self.sessions.conn_closed(io, conn);
    }

    /// A web connection closed: its `/ws` member leaves, a session it
    /// carried ends.
    pub fn closed(&mut self, hub: &mut Hub, io: &mut ChatIo, conn: ConnId) {
        if let Some(WebConn::Ws {
            role: WsRole::Lines(Some(member)),
            ..
        }) = self.conns.remove(conn)
        {
            hub.leave(
                io,
                &mut self.sessions,
                member,
                Route::WsLine(conn),
                Departure::Disconnected,
            );
        }
        self.sessions.conn_closed(io, conn);
    }

    /// A web connection was idle for `--idle-timeout`: its `/ws` member
    /// is told and leaves.
    pub fn idle(&mut self, hub: &mut Hub, io: &mut ChatIo, conn: ConnId) {
        if let Some(WebConn::Ws {
            role: WsRole::Lines(member @ Some(_)),
            ..
        }) = self.conns.get_mut(conn)
        {
            if let Some(member) = member.take() {
                hub.leave(
                    io,
                    &mut self.sessions,
                    member,
                    Route::WsLine(conn),
                    Departure::Idle,
                );
            }
        }
        io.close(conn, CloseReason::IdleTimeout);
    }

    /// A session's ping timer.
    pub fn timer(&mut self, io: &mut ChatIo, timer: EngineTimer) {
        match timer {
            EngineTimer::Ping(id) => self.sessions.on_ping_timer(io, id),
        }
    }

    /// After any callback: held polls get what was queued for them, and
    /// the members of sessions that ended leave the chat.
    pub fn settle(&mut self, hub: &mut Hub, io: &mut ChatIo) {
        loop {
            self.sessions.flush(io);
            let ended = self.sessions.take_ended();
            if ended.is_empty() {
                return;
            }
            for (id, member) in ended {
                if let Some(member) = member {
                    let route = Route::SocketIo(id);
                    hub.leave(
                        io,
                        &mut self.sessions,
                        member,
                        route,
                        Departure::Disconnected,
                    );
                }
            }
        }
    }

    /// Shutdown: every session is closed and every WebSocket told the
    /// server is going away, after what the chat sent them.
    pub fn shut_down(&mut self, io: &mut ChatIo) {
        for id in self.sessions.ids() {
            self.sessions.end(io, id, "server shutting down");
        }
        let _ = self.sessions.take_ended();
        for conn in self.conns.ids() {
            if let Some(WebConn::Ws { .. }) = self.conns.get(conn) {
                close_websocket(io, conn, frame::CLOSE_GOING_AWAY);
            }
        }
    }
}

/// Whether the connection stays open after the answer to `req`.
fn then(req: &Request) -> Then {
    if req.keep_alive {
        Then::KeepAlive
    } else {
        Then::Close
    }
}

/// What the log says when a Socket.IO client sends binary data.
pub(super) const BINARY_REFUSED: &str =
    "a Socket.IO client sent a binary attachment: not supported, disconnecting it";

/// Close code 1003: a message type this end does not accept (binary, where
/// the chat speaks text).
const CLOSE_UNSUPPORTED: u16 = 1003;

/// Answers a WebSocket handshake: `101` (then `Some`), or the error and a
/// close (`None`).
fn upgrade(io: &mut ChatIo, conn: ConnId, req: &Request) -> Option<()> {
    let mut out = Vec::new();
    match &req.upgrade {
        Some(Ok(accepted)) => {
            handshake::write_switching_protocols(&mut out, accepted);
            io.send_shared(conn, Rc::from(out));
            Some(())
        }
        Some(Err(e)) => {
            e.write_response(&mut out);
            io.send(conn, &out);
            io.close(conn, CloseReason::Requested);
            None
        }
        None => {
            let body = b"this address speaks WebSocket: send an Upgrade request\n";
            respond(
                io,
                conn,
                Status::BadRequest,
                "text/plain",
                body,
                Then::Close,
            );
            None
        }
    }
}
