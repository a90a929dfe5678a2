//! Engine.IO sessions: the transport a Socket.IO member's packets travel
//! on, whichever way it arrived.
//!
//! A session outlives any one HTTP connection. Over *long-polling*, the
//! client sends packets in `POST` bodies and receives them in the answer
//! to a `GET` the server holds open until it has something to say; the
//! session keeps an outbox meanwhile. Over *WebSocket* one connection
//! carries both directions. A client usually starts with polling, then
//! probes a WebSocket (`2probe`/`3probe`) and switches to it (`5`); the
//! held `GET` is then released with a noop (`6`).
//!
//! ```text
//!             open (GET, or a WebSocket with no sid)
//!                 |
//!   Polling --probe on a WebSocket, then upgrade--> WebSocket
//!      \                                              /
//!       +---- close, ping timeout, transport gone ---+--> ended
//! ```
//!
//! Every `pingInterval` the server sends a ping (`2`); a session that does
//! not answer (`3`) within `pingTimeout` has ended. Both are timers on the
//! loop ([`EngineTimer`]). Ending a session is noted here; the chat
//! adapter takes the member out of the chat (`take_ended`).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::rc::Rc;
use std::time::Duration;

use base64::Engine as _;
use log::{debug, trace, warn};
use slab::Slab;

use super::super::render::Form;
use super::super::state::MemberId;
use super::response::{respond, Status, Then};
use crate::event_loop::{ConnId, Io, TimerId, NARRATION};
use crate::proto::web::engineio::{self, Heartbeat, Packet};
use crate::proto::web::frame;

/// The chat's timers: a session's ping is due, or its pong overdue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineTimer {
    /// Session `SessionId`'s ping timer.
    Ping(SessionId),
}

/// The loop's interface, as the chat sees it.
pub type ChatIo = Io<EngineTimer>;

/// Names one session: its slot, and which occupant of the slot it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId {
    index: u32,
    serial: u32,
}

/// Which transport carries a session's packets now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Long-polling: an outbox, handed to the next `GET`.
    Polling,
    /// This WebSocket connection.
    WebSocket(ConnId),
}

/// Where a session's ping timer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ping {
    /// Waiting to send the next ping.
    Due(TimerId),
    /// A ping was sent; the pong must come before this timer.
    AwaitingPong(TimerId),
}

/// One Engine.IO session.
#[derive(Debug)]
pub struct Session {
    serial: u32,
    /// Its id, as the client quotes it (`sid=`).
    pub sid: String,
    /// Its transport now.
    pub transport: Transport,
    /// A `GET` waiting for packets (polling), and whether its connection
    /// stays open after the answer.
    held: Option<(ConnId, Then)>,
    /// A WebSocket probing to take over (before the upgrade packet).
    pub probe: Option<ConnId>,
    /// Packets waiting for the next `GET`, joined by the separator.
    outbox: Vec<u8>,
    /// Its chat member, once Socket.IO connected.
    pub member: Option<MemberId>,
    ping: Ping,
}

/// Every session of one chat server.
#[derive(Debug)]
pub struct Sessions {
    slab: Slab<Session>,
    by_sid: HashMap<String, SessionId>,
    serial: u32,
    /// Polling sessions whose outbox has something for a held `GET`.
    to_flush: Vec<SessionId>,
    /// Sessions that ended, with their member, for the adapter.
    ended: Vec<(SessionId, Option<MemberId>)>,
    /// `--max-outbuf`: a polling session whose outbox passes it is a slow
    /// consumer, as a connection would be.
    max_outbuf: usize,
    /// `--ping-interval` and `--ping-timeout`: what every session's ping
    /// timer does, and what its open packet announces.
    heartbeat: Heartbeat,
}

impl Sessions {
    /// No sessions yet.
    pub fn new(max_outbuf: usize, heartbeat: Heartbeat) -> Sessions {
        Sessions {
            slab: Slab::new(),
            by_sid: HashMap::new(),
            serial: 0,
            to_flush: Vec::new(),
            ended: Vec::new(),
            max_outbuf,
            heartbeat,
        }
    }

    /// The session `id`, while it lasts.
    pub fn get(&self, id: SessionId) -> Option<&Session> {
        self.slab
            .get(id.index as usize)
            .filter(|s| s.serial == id.serial)
    }

    /// The session `id`, to change.
    pub fn get_mut(&mut self, id: SessionId) -> Option<&mut Session> {
        self.slab
            .get_mut(id.index as usize)
            .filter(|s| s.serial == id.serial)
    }

    /// The session a client names by `sid`.
    pub fn find(&self, sid: &str) -> Option<SessionId> {
        self.by_sid.get(sid).copied()
    }

    /// Opens a session on `transport`, sends (WebSocket) or returns
    /// (polling, for the `GET`'s answer) its open packet, and starts its
    /// ping timer.
    pub fn open(&mut self, io: &mut ChatIo, transport: Transport) -> (SessionId, Vec<u8>) {
        self.serial = self.serial.wrapping_add(1);
        let sid = new_sid();
        let entry = self.slab.vacant_entry();
        let id = SessionId {
            index: entry.key() as u32,
            serial: self.serial,
        };
        let timer = io.set_timer(ms(self.heartbeat.interval_ms), EngineTimer::Ping(id));
        let upgrades: &[&str] = match transport {
            Transport::Polling => &["websocket"],
            Transport::WebSocket(_) => &[],
        };
        let mut open = Vec::new();
        engineio::encode_open(&mut open, &sid, upgrades, self.heartbeat);
        entry.insert(Session {
            serial: self.serial,
            sid: sid.clone(),
            transport,
            held: None,
            probe: None,
            outbox: Vec::new(),
            member: None,
            ping: Ping::Due(timer),
        });
        self.by_sid.insert(sid.clone(), id);
        trace!(target: NARRATION, "  session {sid} opened ({transport:?})");
        if let Transport::WebSocket(conn) = transport {
            send_frame(io, conn, &open);
        }
        (id, open)
    }

    /// Sends one Engine.IO packet (already encoded, e.g. `40{...}`, `3`)
    /// to session `id` alone.
    pub fn send_packet(&mut self, io: &mut ChatIo, id: SessionId, packet: &[u8]) {
        let Some(session) = self.get_mut(id) else {
            return;
        };
        match session.transport {
            Transport::WebSocket(conn) => send_frame(io, conn, packet),
            Transport::Polling => {
                engineio::push_packet(&mut session.outbox, packet);
                self.queued(io, id);
            }
        }
    }

    /// Delivers a chat message, in the form its transport wants: the
    /// shared framed packet on a WebSocket, the packet in the outbox when
    /// polling.
    pub fn deliver(
        &mut self,
        io: &mut ChatIo,
        id: SessionId,
        mut form: impl FnMut(Form) -> Rc<[u8]>,
    ) {
        let Some(session) = self.get_mut(id) else {
            return;
        };
        match session.transport {
            Transport::WebSocket(conn) => io.send_shared(conn, form(Form::PacketFrame)),
            Transport::Polling => {
                engineio::push_packet(&mut session.outbox, &form(Form::Packet));
                self.queued(io, id);
            }
        }
    }

    /// A polling session's outbox grew: hand it to a held `GET` at the
    /// end of the callback, or end the session if it is a slow consumer.
    fn queued(&mut self, io: &mut ChatIo, id: SessionId) {
        let Some(session) = self.get(id) else {
            return;
        };
        if session.outbox.len() > self.max_outbuf {
            let member = session.member;
            warn!(
                "session {} disconnected: {} B waiting for a poll, over --max-outbuf {}",
                session.sid,
                session.outbox.len(),
                self.max_outbuf
            );
            self.ended.push((id, member));
            self.remove(io, id);
            return;
        }
        if !self.to_flush.contains(&id) {
            self.to_flush.push(id);
        }
    }

    /// Answers every held `GET` that now has packets.
    pub fn flush(&mut self, io: &mut ChatIo) {
        for id in std::mem::take(&mut self.to_flush) {
            let Some(session) = self.get_mut(id) else {
                continue;
            };
            if session.outbox.is_empty() {
                continue;
            }
            if let Some((conn, then)) = session.held.take() {
                let body = std::mem::take(&mut session.outbox);
                respond(io, conn, Status::Ok, TEXT, &body, then);
            }
        }
    }

    /// A `GET` for session `id` on `conn`: answered at once if the outbox
    /// has packets, held otherwise. A second held `GET` breaks the
    /// protocol: `400`, and the session ends.
    pub fn poll(&mut self, io: &mut ChatIo, id: SessionId, conn: ConnId, then: Then) {
        let Some(session) = self.get_mut(id) else {
            return;
        };
        if session.transport != Transport::Polling {
            return bad_request(io, conn, engineio::RequestError::BadRequest);
        }
        if session.held.is_some() {
            debug!(
                "session {}: a second GET held at once: ending it",
                session.sid
            );
            bad_request(io, conn, engineio::RequestError::BadRequest);
            return self.end(io, id, "second pending GET");
        }
        if session.outbox.is_empty() && session.probe.is_some() {
            // A WebSocket is probing: the client will not send the
            // upgrade packet until its polling has paused, which waits
            // for this GET to end. The held GET the probe released may
            // have been answered before this one left the client (the
            // official clients poll again at once): held, it would stall
            // the upgrade until the next ping. End it now, as the official
            // server does with its noop during an upgrade.
            respond(io, conn, Status::Ok, TEXT, b"6", then);
        } else if session.outbox.is_empty() {
            session.held = Some((conn, then));
            trace!(target: NARRATION, "  session {} poll held on conn {conn}", session.sid);
        } else {
            let body = std::mem::take(&mut session.outbox);
            respond(io, conn, Status::Ok, TEXT, &body, then);
        }
    }

    /// One Engine.IO packet from session `id`'s client (`via`: the
    /// WebSocket it came on, if any). Returns the data of a message packet
    /// for the Socket.IO layer; handles the rest here.
    pub fn receive<'p>(
        &mut self,
        io: &mut ChatIo,
        id: SessionId,
        via: Option<ConnId>,
        packet: Packet<'p>,
    ) -> Option<&'p str> {
        let interval = ms(self.heartbeat.interval_ms);
        let session = self.get_mut(id)?;
        match packet {
            Packet::Message(data) => return Some(data),
            Packet::Pong(_) => {
                if let Ping::AwaitingPong(timer) = session.ping {
                    io.cancel_timer(timer);
                    let next = io.set_timer(interval, EngineTimer::Ping(id));
                    session.ping = Ping::Due(next);
                }
            }
            Packet::Ping(data) if data == engineio::PROBE => {
                if let Some(conn) = via {
                    session.probe = Some(conn);
                    send_frame(io, conn, b"3probe");
                    // Release a held GET so the client can pause polling.
                    if let Some((held, then)) = session.held.take() {
                        respond(io, held, Status::Ok, TEXT, b"6", then);
                    }
                }
            }
            Packet::Ping(_) => self.send_packet(io, id, b"3"),
            Packet::Upgrade => self.upgrade(io, id, via),
            Packet::Close => self.end(io, id, "client closed"),
            Packet::Open(_) | Packet::Noop => {}
        }
        None
    }

    /// The probed WebSocket takes over: what waited in the outbox goes out
    /// on it.
    fn upgrade(&mut self, io: &mut ChatIo, id: SessionId, via: Option<ConnId>) {
        let Some(session) = self.get_mut(id) else {
            return;
        };
        let Some(conn) = via.filter(|&conn| session.probe == Some(conn)) else {
            return;
        };
        session.transport = Transport::WebSocket(conn);
        session.probe = None;
        trace!(target: NARRATION, "  session {} upgraded to websocket on conn {conn}", session.sid);
        if let Some((held, then)) = session.held.take() {
            respond(io, held, Status::Ok, TEXT, b"6", then);
        }
        let outbox = std::mem::take(&mut session.outbox);
        for packet in outbox.split(|&b| b == engineio::SEPARATOR) {
            if !packet.is_empty() {
                send_frame(io, conn, packet);
            }
        }
    }

    /// A session's ping timer fired: ping it, or, if it never answered
    /// the last ping, end it.
    pub fn on_ping_timer(&mut self, io: &mut ChatIo, id: SessionId) {
        let timeout_ms = self.heartbeat.timeout_ms;
        let Some(session) = self.get_mut(id) else {
            return;
        };
        match session.ping {
            Ping::AwaitingPong(_) => {
                debug!("session {}: no pong within {timeout_ms} ms", session.sid);
                self.end(io, id, "ping timeout");
            }
            Ping::Due(_) => {
                let timer = io.set_timer(ms(timeout_ms), EngineTimer::Ping(id));
                session.ping = Ping::AwaitingPong(timer);
                trace!(target: NARRATION, "  session {} ping", session.sid);
                self.send_packet(io, id, b"2");
            }
        }
    }

    /// Ends session `id`: its client is told (a close packet), its
    /// connections let go, and its member noted for the adapter.
    pub fn end(&mut self, io: &mut ChatIo, id: SessionId, why: &str) {
        let Some(session) = self.get(id) else {
            return;
        };
        debug!("session {} ended: {why}", session.sid);
        let (member, transport, probe) = (session.member, session.transport, session.probe);
        self.ended.push((id, member));
        self.send_packet(io, id, b"1");
        self.flush(io);
        self.remove(io, id);
        // Its WebSockets have nothing else to carry.
        for conn in [probe, transport_conn(transport)].into_iter().flatten() {
            close_websocket(io, conn, frame::CLOSE_NORMAL);
        }
    }

    /// Forgets session `id`: its timer, its id, its transport.
    fn remove(&mut self, io: &mut ChatIo, id: SessionId) {
        if self.get(id).is_none() {
            return;
        }
        let session = self.slab.remove(id.index as usize);
        self.by_sid.remove(&session.sid);
        let (Ping::Due(timer) | Ping::AwaitingPong(timer)) = session.ping;
        io.cancel_timer(timer);
    }

    /// A connection closed: a session it carried has ended, whether on a
    /// WebSocket or as a held `GET` (a polling client that goes away
    /// closes the request it was waiting on, as Engine.IO servers read
    /// it: the transport closed).
    pub fn conn_closed(&mut self, io: &mut ChatIo, conn: ConnId) {
        let mut gone = Vec::new();
        for (index, session) in self.slab.iter_mut() {
            let id = SessionId {
                index: index as u32,
                serial: session.serial,
            };
            if session.held.is_some_and(|(held, _)| held == conn) {
                session.held = None;
                gone.push(id);
            }
            if session.probe == Some(conn) {
                session.probe = None;
            }
            if session.transport == Transport::WebSocket(conn) {
                gone.push(id);
            }
        }
        for id in gone {
            self.end(io, id, "transport closed");
        }
    }

    /// Sessions that ended since the last call, with their members.
    pub fn take_ended(&mut self) -> Vec<(SessionId, Option<MemberId>)> {
        std::mem::take(&mut self.ended)
    }

    /// Every session, to close at shutdown.
    pub fn ids(&self) -> Vec<SessionId> {
        self.slab
            .iter()
            .map(|(index, s)| SessionId {
                index: index as u32,
                serial: s.serial,
            })
            .collect()
    }
}

/// The content type of polling bodies.
const TEXT: &str = "text/plain; charset=UTF-8";

/// A WebSocket text frame around `packet`.
fn send_frame(io: &mut ChatIo, conn: ConnId, packet: &[u8]) {
    let mut out = Vec::with_capacity(frame::header_len(packet.len(), false) + packet.len());
    frame::encode_frame(&mut out, frame::Opcode::Text, true, packet, None);
    io.send_shared(conn, Rc::from(out));
}

/// The WebSocket a transport uses, if it is one.
fn transport_conn(transport: Transport) -> Option<ConnId> {
    match transport {
        Transport::WebSocket(conn) => Some(conn),
        Transport::Polling => None,
    }
}

/// Sends a close frame with `code` and closes the connection once it is
/// sent: the server's half of the close handshake.
pub fn close_websocket<T>(io: &mut Io<T>, conn: ConnId, code: u16) {
    let mut out = Vec::new();
    frame::encode_close(&mut out, Some(code), "");
    io.send(conn, &out);
    io.close(conn, crate::event_loop::CloseReason::Requested);
}

/// `400` with the Engine.IO error body, and the connection kept.
pub fn bad_request(io: &mut ChatIo, conn: ConnId, error: engineio::RequestError) {
    let mut body = Vec::new();
    error.write_body(&mut body);
    respond(
        io,
        conn,
        Status::BadRequest,
        "application/json",
        &body,
        Then::KeepAlive,
    );
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// A new session id: 16 random bytes as URL-safe base64. The randomness
/// is the standard library's: each `RandomState` is keyed from the
/// operating system's random source, so two hashers give 128 bits nobody
/// can guess, with no extra crate.
fn new_sid() -> String {
    let mut bytes = [0u8; 16];
    for half in bytes.chunks_mut(8) {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u8(0);
        half.copy_from_slice(&hasher.finish().to_le_bytes());
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
