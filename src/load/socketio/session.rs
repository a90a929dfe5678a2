//! One member's Socket.IO session, as a client: bytes from the server in,
//! bytes to send and what was heard out. No socket and no clock, like the
//! codecs it is built from (`proto/web/`), so every step can be tested
//! with byte strings.
//!
//! What a member goes through, the way the official client does it over
//! the WebSocket transport:
//!
//! ```text
//!  Upgrading   GET /socket.io/?EIO=4&transport=websocket   (Upgrade: websocket)
//!              <- 101 Switching Protocols, Sec-WebSocket-Accept checked
//!  Opening     <- 0{"sid":...,"pingInterval":...}          (Engine.IO open)
//!              -> 40                                       (Socket.IO CONNECT to /)
//!  Connecting  <- 40{"sid":...}                            (CONNECT accepted)
//!  Welcoming   <- 42["notice",{"text":"welcome guest-3, you are in #lobby"}]
//!  Joined      -> 42["message","load 7 42 1000"]           (masked frames)
//!              <- 42["message",{"from":"guest-9","text":"load 9 17 2000"}]
//! ```
//!
//! In every phase after the upgrade, an Engine.IO ping (`2`) is answered
//! with a pong (`3`) and a WebSocket ping with a pong, as a client must.
//!
//! Deliveries are the hot path: one per member per message. Their JSON is
//! read into borrowed strings by `serde` (no allocation unless the text
//! has escapes); everything else goes through the general
//! [`socketio::decode`].

use std::borrow::Cow;
use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use log::trace;
use serde::Deserialize;

use crate::proto::web::engineio::{self, Packet as EnginePacket};
use crate::proto::web::frame::{self, Event, FrameDecoder, Opcode, Role};
use crate::proto::web::handshake;
use crate::proto::web::socketio::{self, Packet};

use super::masks::Masks;

/// The path of a Socket.IO client that starts on the WebSocket transport.
pub const PATH: &str = "/socket.io/?EIO=4&transport=websocket";

/// Largest response head accepted for the upgrade: a `101` has a few
/// short headers; more than this is not the server we are looking for.
pub const MAX_HEAD: usize = 8 * 1024;

/// Largest WebSocket message accepted from the server. A chat event is a
/// few hundred bytes; this bounds what a member's decoder may hold.
pub const MAX_MESSAGE: usize = 64 * 1024;

/// Header fields read from the `101` (httparse needs a fixed number).
const MAX_HEADERS: usize = 32;

/// Where a member's session stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Before and after the upgrade request: waiting for the `101`,
    /// which must answer this `Sec-WebSocket-Key`.
    Upgrading { key: String },
    /// Upgraded; waiting for Engine.IO's open packet.
    Opening,
    /// `40` sent; waiting for the server's `40{...}`.
    Connecting,
    /// Connected to `/`; waiting for the welcome notice.
    Welcoming,
    /// Welcomed before the connect was acknowledged: some servers
    /// (python-socketio) send what the connect handler emits first.
    WelcomedEarly,
    /// In the room: publishing and hearing messages.
    Joined,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Upgrading { .. } => "Upgrading",
            Phase::Opening => "Opening",
            Phase::Connecting => "Connecting",
            Phase::Welcoming => "Welcoming",
            Phase::WelcomedEarly => "WelcomedEarly",
            Phase::Joined => "Joined",
        })
    }
}

/// The one place a session's phase changes, traced.
fn set_phase(phase: &mut Phase, new: Phase) {
    trace!("socket.io member {phase}=>{new}");
    *phase = new;
}

/// What a member heard that the generator counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard<'a> {
    /// The welcome notice: the member is in the room.
    Joined,
    /// A `message` event: a delivery.
    Message {
        /// The event's text.
        text: &'a str,
        /// The bytes of the Engine.IO packet that carried it.
        bytes: usize,
    },
    /// An `error` event: the server refused something the member sent.
    Refused(&'a str),
    /// Something no member asked for (an event of another kind or form,
    /// an acknowledgement, a binary message); says what.
    Unexpected(&'static str),
}

/// Why a session cannot go on. The generator closes the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Broken {
    /// The upgrade or the Socket.IO connect failed: the member never
    /// joined. Says why, for the report's `error:` line.
    Refused(String),
    /// A frame or packet the protocols forbid.
    Protocol(String),
    /// The server ended the session (a close frame, an Engine.IO close,
    /// a Socket.IO disconnect).
    Ended(&'static str),
}

/// A server event as the hot path reads it: `["name",{"text":...}]`;
/// other fields (`from`) are skipped.
#[derive(Debug, Deserialize)]
struct ServerEvent<'a>(#[serde(borrow)] Cow<'a, str>, EventData<'a>);

/// The object every chat event carries.
#[derive(Debug, Deserialize)]
struct EventData<'a> {
    #[serde(borrow)]
    text: Cow<'a, str>,
}

/// One member's session.
#[derive(Debug)]
pub struct Session {
    phase: Phase,
    /// The server's frames, once upgraded.
    decoder: FrameDecoder,
    /// Mask keys for the frames this member sends.
    masks: Masks,
}

impl Session {
    /// A new session, its nonce and mask keys drawn from `masks`.
    pub fn new(mut masks: Masks) -> Session {
        Session {
            phase: Phase::Upgrading {
                key: BASE64.encode(masks.nonce()),
            },
            decoder: FrameDecoder::new(Role::Client, MAX_MESSAGE),
            masks,
        }
    }

    /// Appends the upgrade request to `out`, once the connection is made.
    /// `host` is the server's `host:port`.
    pub fn request(&self, host: &str, out: &mut Vec<u8>) {
        let Phase::Upgrading { key } = &self.phase else {
            return;
        };
        let request = format!(
            "GET {PATH} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n\
             Sec-WebSocket-Version: {}\r\n\r\n",
            handshake::VERSION
        );
        out.extend_from_slice(request.as_bytes());
    }

    /// Whether the welcome has been heard: the member may publish.
    pub fn is_joined(&self) -> bool {
        self.phase == Phase::Joined
    }

    /// Appends `42["message",TEXT]` in a masked frame to `out`.
    pub fn publish(&mut self, text: &str, out: &mut Vec<u8>) {
        let mut packet = Vec::with_capacity(text.len() + 16);
        packet.extend_from_slice(b"42[\"message\",");
        // Writing a `str` as JSON into a `Vec` cannot fail.
        let _ = serde_json::to_writer(&mut packet, text);
        packet.push(b']');
        frame::encode_client(out, Opcode::Text, &packet, self.masks.key());
    }

    /// Reads what the server sent: appends any answers to `out` (send
    /// them even when this fails: a close is answered), reports what was
    /// heard to `heard`. Returns the bytes consumed; the rest (part of a
    /// head or a frame header) is to be offered again with more.
    pub fn read(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        heard: &mut dyn FnMut(Heard<'_>),
    ) -> Result<usize, Broken> {
        let mut used = 0;
        if let Phase::Upgrading { key } = &self.phase {
            match read_switching_protocols(input, key)? {
                None => return Ok(0),
                Some(head) => used = head,
            }
            set_phase(&mut self.phase, Phase::Opening);
        }
        let Session {
            phase,
            decoder,
            masks,
        } = self;
        while used < input.len() {
            let (taken, event) = decoder.decode(input.get(used..).unwrap_or_default());
            used += taken;
            match event {
                Ok(Some(event)) => on_frame(phase, masks, event, out, heard)?,
                Ok(None) => break,
                Err(e) => return Err(Broken::Protocol(format!("bad frame: {e}"))),
            }
        }
        Ok(used)
    }
}

/// Reads the upgrade's response head: `None` while it is incomplete,
/// else its length. Anything but a `101` with the right headers for `key`
/// is a refusal that says what came instead.
fn read_switching_protocols(input: &[u8], key: &str) -> Result<Option<usize>, Broken> {
    let refused = |why: String| Err(Broken::Refused(why));
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let head = match response.parse(input) {
        Ok(httparse::Status::Complete(head)) => head,
        Ok(httparse::Status::Partial) if input.len() <= MAX_HEAD => return Ok(None),
        Ok(httparse::Status::Partial) => {
            return refused(format!("response head over {MAX_HEAD} bytes"))
        }
        Err(e) => {
            return refused(format!(
                "not an HTTP response ({e}); is this the web address?"
            ))
        }
    };
    let status = response.code.unwrap_or(0);
    if status != 101 {
        let reason = response.reason.unwrap_or("");
        return refused(format!(
            "expected 101 Switching Protocols, got {status} {reason}"
        ));
    }
    let field = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.trim_ascii())
    };
    if !field("upgrade").is_some_and(|v| v.eq_ignore_ascii_case(b"websocket")) {
        return refused("101 without Upgrade: websocket".into());
    }
    let accept = handshake::accept_key(key.as_bytes());
    if field("sec-websocket-accept") != Some(accept.as_bytes()) {
        return refused("101 with a wrong Sec-WebSocket-Accept".into());
    }
    Ok(Some(head))
}

/// One WebSocket message or control frame from the server.
fn on_frame(
    phase: &mut Phase,
    masks: &mut Masks,
    event: Event<'_>,
    out: &mut Vec<u8>,
    heard: &mut dyn FnMut(Heard<'_>),
) -> Result<(), Broken> {
    match event {
        Event::Text(text) => on_packet(phase, masks, text, out, heard),
        Event::Binary(_) => {
            heard(Heard::Unexpected("a binary message"));
            Ok(())
        }
        Event::Ping(payload) => {
            frame::encode_client(out, Opcode::Pong, payload, masks.key());
            Ok(())
        }
        Event::Pong(_) => Ok(()),
        Event::Close { code, .. } => {
            let mut payload = Vec::new();
            if let Some(code) = code {
                payload.extend_from_slice(&code.to_be_bytes());
            }
            frame::encode_client(out, Opcode::Close, &payload, masks.key());
            Err(Broken::Ended("the server closed the WebSocket"))
        }
    }
}

/// One Engine.IO packet (the text of one WebSocket message).
fn on_packet(
    phase: &mut Phase,
    masks: &mut Masks,
    text: &str,
    out: &mut Vec<u8>,
    heard: &mut dyn FnMut(Heard<'_>),
) -> Result<(), Broken> {
    let packet = engineio::decode_packet(text)
        .map_err(|e| Broken::Protocol(format!("bad Engine.IO packet: {e}")))?;
    match packet {
        EnginePacket::Message(data) => return on_socketio(phase, data, heard),
        EnginePacket::Open(json) if *phase == Phase::Opening => {
            if engineio::parse_handshake(json).is_none() {
                return Err(Broken::Refused(format!(
                    "bad Engine.IO open packet {json:?}"
                )));
            }
            send_text(out, masks, b"40");
            set_phase(phase, Phase::Connecting);
        }
        EnginePacket::Ping(data) => {
            let mut pong = Vec::with_capacity(data.len() + 1);
            engineio::encode_packet(&mut pong, &EnginePacket::Pong(data));
            send_text(out, masks, &pong);
        }
        EnginePacket::Close => return Err(Broken::Ended("the server closed the session")),
        EnginePacket::Noop => {}
        EnginePacket::Open(_) | EnginePacket::Pong(_) | EnginePacket::Upgrade => {
            heard(Heard::Unexpected("an Engine.IO packet out of turn"));
        }
    }
    Ok(())
}

/// One Socket.IO packet (the data of an Engine.IO message).
fn on_socketio(
    phase: &mut Phase,
    data: &str,
    heard: &mut dyn FnMut(Heard<'_>),
) -> Result<(), Broken> {
    // The hot path: an event on `/` with no ack id, `2[...]`.
    let event = data.strip_prefix('2').filter(|json| json.starts_with('['));
    if let Some(event) = event.and_then(|json| serde_json::from_str::<ServerEvent>(json).ok()) {
        on_event(phase, &event.0, &event.1.text, data.len() + 1, heard);
        return Ok(());
    }
    match socketio::decode(data) {
        Ok(Packet::Connect { namespace, .. })
            if *phase == Phase::Connecting && namespace == socketio::MAIN_NAMESPACE =>
        {
            set_phase(phase, Phase::Welcoming);
        }
        Ok(Packet::Connect { namespace, .. })
            if *phase == Phase::WelcomedEarly && namespace == socketio::MAIN_NAMESPACE =>
        {
            set_phase(phase, Phase::Joined);
            heard(Heard::Joined);
        }
        Ok(Packet::ConnectError { data, .. }) => {
            return Err(Broken::Refused(format!(
                "Socket.IO connect refused: {data}"
            )));
        }
        Ok(Packet::Disconnect { .. }) => return Err(Broken::Ended("the server disconnected")),
        Ok(Packet::Connect { .. } | Packet::Event { .. } | Packet::Ack { .. }) => {
            heard(Heard::Unexpected("a Socket.IO packet nobody asked for"));
        }
        Err(e) => return Err(Broken::Protocol(format!("bad Socket.IO packet: {e}"))),
    }
    Ok(())
}

/// A chat event: `message`, `notice`, `error` (`private` is for nobody
/// here: no member sends one).
/// `bytes` is the size of the Engine.IO packet that carried it.
fn on_event(
    phase: &mut Phase,
    name: &str,
    text: &str,
    bytes: usize,
    heard: &mut dyn FnMut(Heard<'_>),
) {
    match (name, &*phase) {
        ("message", Phase::Joined) => heard(Heard::Message { text, bytes }),
        ("notice", Phase::Connecting) if text.starts_with("welcome ") => {
            set_phase(phase, Phase::WelcomedEarly);
        }
        ("notice", Phase::Welcoming) if text.starts_with("welcome ") => {
            set_phase(phase, Phase::Joined);
            heard(Heard::Joined);
        }
        // Joins and departures in the room, whenever they come; and a
        // message that came before this member's own welcome (a server
        // may relay to the room before it acknowledges the connect): it
        // was not this member's to count.
        ("notice", _) | ("message", _) => {}
        ("error", _) => heard(Heard::Refused(text)),
        _ => heard(Heard::Unexpected("an event out of turn or of another kind")),
    }
}

/// Appends `packet` as one masked text frame.
fn send_text(out: &mut Vec<u8>, masks: &mut Masks, packet: &[u8]) {
    frame::encode_client(out, Opcode::Text, packet, masks.key());
}

#[cfg(test)]
mod tests;
