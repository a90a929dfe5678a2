//! Engine.IO protocol 4: the session layer under Socket.IO.
//!
//! Engine.IO gives a client a *session* (an id, `sid`) that survives a
//! change of transport: it starts with HTTP long-polling (a `GET` that the
//! server holds until it has something to send, a `POST` per batch the
//! client sends) and, if it can, upgrades to a WebSocket. Over both, what
//! travels is *packets*: one digit for the type, then the data.
//!
//! | packet  | wire           | sent by | meaning                                          |
//! |---------|----------------|---------|--------------------------------------------------|
//! | open    | `0{"sid":...}` | server  | the session's id and timings (JSON)              |
//! | close   | `1`            | either  | end the session                                  |
//! | ping    | `2`, `2probe`  | either  | the server's heartbeat; a client's upgrade probe |
//! | pong    | `3`, `3probe`  | either  | the answer to a ping                             |
//! | message | `4` + text     | either  | the payload: a Socket.IO packet                  |
//! | upgrade | `5`            | client  | "the WebSocket works, use it from now on"        |
//! | noop    | `6`            | server  | ends a held `GET` during an upgrade              |
//!
//! Over a WebSocket each packet is one text frame. Over long-polling one
//! HTTP body carries several packets joined by the record separator
//! `0x1E`, a byte JSON never leaves unescaped. Binary packets (`b` and
//! base64 in a polling body, a binary frame over WebSocket) are recognised
//! and reported as [`PacketError::Binary`]: chat sends only text.

use std::fmt;

use serde_json::json;

use super::push_json_str;

/// The protocol version this server speaks: the `EIO=4` query parameter.
pub const PROTOCOL: &str = "4";

/// The byte between packets in a long-polling body (the ASCII record
/// separator).
pub const SEPARATOR: u8 = 0x1E;

/// Milliseconds between the server's pings (the official server's default).
pub const PING_INTERVAL_MS: u64 = 25_000;

/// Milliseconds the server waits for the pong before the session is dead.
pub const PING_TIMEOUT_MS: u64 = 20_000;

/// The server's heartbeat: how often it pings, how long it waits for the
/// pong. The open packet announces both, and the client sizes its own
/// watchdog from them (it gives up on a server silent for their sum), so
/// what is announced must be what the server does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    /// Milliseconds between pings (`pingInterval`).
    pub interval_ms: u64,
    /// Milliseconds to wait for a pong (`pingTimeout`).
    pub timeout_ms: u64,
}

impl Default for Heartbeat {
    /// The official server's: [`PING_INTERVAL_MS`] and [`PING_TIMEOUT_MS`].
    fn default() -> Heartbeat {
        Heartbeat {
            interval_ms: PING_INTERVAL_MS,
            timeout_ms: PING_TIMEOUT_MS,
        }
    }
}

/// Most bytes the client may put in one polling body, and in one message.
pub const MAX_PAYLOAD: usize = 1_000_000;

/// The data of a ping or pong that probes a new WebSocket transport.
pub const PROBE: &str = "probe";

/// One packet. Text is borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet<'a> {
    /// `0`: the session opens; the data is the handshake JSON.
    Open(&'a str),
    /// `1`: close the session.
    Close,
    /// `2`: ping; data empty, or [`PROBE`] from a client testing a WebSocket.
    Ping(&'a str),
    /// `3`: pong; data as in the ping it answers.
    Pong(&'a str),
    /// `4`: a message: one Socket.IO packet.
    Message(&'a str),
    /// `5`: upgrade: switch to the transport just probed.
    Upgrade,
    /// `6`: noop.
    Noop,
}

/// Why a packet or body cannot be read. Any of these ends the session
/// (over polling with `400 Bad Request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketError {
    /// An empty packet: no type digit.
    Empty,
    /// A type that is not 0-6 (the byte found, if it is ASCII).
    UnknownType(char),
    /// Data after a type that takes none (`1`, `5`, `6`).
    UnexpectedData,
    /// A binary packet: recognised, not supported.
    Binary,
    /// A polling body that is not UTF-8.
    InvalidUtf8,
}

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacketError::Empty => f.write_str("empty packet"),
            PacketError::UnknownType(c) => write!(f, "unknown packet type {c:?}"),
            PacketError::UnexpectedData => f.write_str("data after a packet type that takes none"),
            PacketError::Binary => f.write_str("binary packets are not supported"),
            PacketError::InvalidUtf8 => f.write_str("payload is not UTF-8"),
        }
    }
}

/// Reads one packet: the text of a WebSocket frame, or one piece of a
/// polling body.
pub fn decode_packet(text: &str) -> Result<Packet<'_>, PacketError> {
    let mut chars = text.chars();
    let kind = chars.next().ok_or(PacketError::Empty)?;
    let data = chars.as_str();
    let no_data = |packet: Packet<'static>| {
        if data.is_empty() {
            Ok(packet)
        } else {
            Err(PacketError::UnexpectedData)
        }
    };
    match kind {
        '0' => Ok(Packet::Open(data)),
        '1' => no_data(Packet::Close),
        '2' => Ok(Packet::Ping(data)),
        '3' => Ok(Packet::Pong(data)),
        '4' => Ok(Packet::Message(data)),
        '5' => no_data(Packet::Upgrade),
        '6' => no_data(Packet::Noop),
        'b' => Err(PacketError::Binary),
        other => Err(PacketError::UnknownType(other)),
    }
}

/// Reads a long-polling body: packets joined by [`SEPARATOR`]. All or
/// nothing: one bad packet refuses the body.
pub fn decode_payload(body: &[u8]) -> Result<Vec<Packet<'_>>, PacketError> {
    let text = std::str::from_utf8(body).map_err(|_| PacketError::InvalidUtf8)?;
    text.split(char::from(SEPARATOR))
        .map(decode_packet)
        .collect()
}

/// Appends one packet: its type digit, then its data.
pub fn encode_packet(out: &mut Vec<u8>, packet: &Packet<'_>) {
    let (kind, data) = match *packet {
        Packet::Open(json) => (b'0', json),
        Packet::Close => (b'1', ""),
        Packet::Ping(data) => (b'2', data),
        Packet::Pong(data) => (b'3', data),
        Packet::Message(text) => (b'4', text),
        Packet::Upgrade => (b'5', ""),
        Packet::Noop => (b'6', ""),
    };
    out.push(kind);
    out.extend_from_slice(data.as_bytes());
}

/// Adds an already encoded packet to a polling body being built: the
/// separator first, unless it is the body's first packet. This is how a
/// held `GET` gathers what was queued for its session. The packet must
/// not contain `0x1E` itself; those of [`socketio`](super::socketio)'s
/// encoders never do, since JSON escapes it.
pub fn push_packet(body: &mut Vec<u8>, encoded: &[u8]) {
    if !body.is_empty() {
        body.push(SEPARATOR);
    }
    body.extend_from_slice(encoded);
}

/// Appends a whole polling body: `packets` joined by [`SEPARATOR`].
pub fn encode_payload(out: &mut Vec<u8>, packets: &[Packet<'_>]) {
    for (i, packet) in packets.iter().enumerate() {
        if i > 0 {
            out.push(SEPARATOR);
        }
        encode_packet(out, packet);
    }
}

/// Appends the open packet a new session starts with: `0` and the
/// handshake JSON. `upgrades` is `["websocket"]` for a session that
/// starts on polling, and empty for one that starts on a WebSocket;
/// `heartbeat` is what the server will do.
pub fn encode_open(out: &mut Vec<u8>, sid: &str, upgrades: &[&str], heartbeat: Heartbeat) {
    out.extend_from_slice(b"0{\"sid\":");
    push_json_str(out, sid);
    out.extend_from_slice(b",\"upgrades\":[");
    for (i, upgrade) in upgrades.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_json_str(out, upgrade);
    }
    let Heartbeat {
        interval_ms,
        timeout_ms,
    } = heartbeat;
    let timings = format!(
        "],\"pingInterval\":{interval_ms},\"pingTimeout\":{timeout_ms},\
         \"maxPayload\":{MAX_PAYLOAD}}}"
    );
    out.extend_from_slice(timings.as_bytes());
}

/// The handshake data of an open packet, as a client reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// The session id, to send as `sid=` from now on.
    pub sid: String,
    /// Transports the session may upgrade to.
    pub upgrades: Vec<String>,
    /// Milliseconds between the server's pings.
    pub ping_interval_ms: u64,
    /// Milliseconds the server waits for a pong.
    pub ping_timeout_ms: u64,
    /// Most bytes per body or message.
    pub max_payload: u64,
}

/// Reads the JSON of an open packet (the data of [`Packet::Open`]), as the
/// load generator and the tests do; `None` if a field is missing or of the
/// wrong type.
pub fn parse_handshake(json: &str) -> Option<Handshake> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    let upgrades = value.get("upgrades")?.as_array()?;
    Some(Handshake {
        sid: value.get("sid")?.as_str()?.to_string(),
        upgrades: upgrades
            .iter()
            .map(|u| u.as_str().map(str::to_string))
            .collect::<Option<_>>()?,
        ping_interval_ms: value.get("pingInterval")?.as_u64()?,
        ping_timeout_ms: value.get("pingTimeout")?.as_u64()?,
        max_payload: value.get("maxPayload")?.as_u64()?,
    })
}

/// The two transports of Engine.IO 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// HTTP long-polling: `GET` to receive, `POST` to send.
    Polling,
    /// A WebSocket after an HTTP upgrade.
    WebSocket,
}

/// What a `/socket.io/` request's query string says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query<'a> {
    /// The transport asked for.
    pub transport: Transport,
    /// The session, absent on the request that opens one. Taken as sent:
    /// the server's ids need no percent-decoding.
    pub sid: Option<&'a str>,
}

/// Why a `/socket.io/` request is refused: the official server's error
/// codes, each sent as `400 Bad Request` with the JSON body of
/// [`RequestError::write_body`], so the official clients understand it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    /// No `transport`, or one that is neither `polling` nor `websocket`
    /// (code 0).
    UnknownTransport,
    /// A `sid` the server does not know (code 1).
    UnknownSession,
    /// Anything else the protocol forbids, such as a second `GET` held
    /// for one session (code 3).
    BadRequest,
    /// No `EIO`, or a version other than 4 (code 5).
    UnsupportedVersion,
}

impl RequestError {
    /// The Engine.IO error code.
    pub fn code(self) -> u8 {
        match self {
            RequestError::UnknownTransport => 0,
            RequestError::UnknownSession => 1,
            RequestError::BadRequest => 3,
            RequestError::UnsupportedVersion => 5,
        }
    }

    /// The Engine.IO error message.
    pub fn message(self) -> &'static str {
        match self {
            RequestError::UnknownTransport => "Transport unknown",
            RequestError::UnknownSession => "Session ID unknown",
            RequestError::BadRequest => "Bad request",
            RequestError::UnsupportedVersion => "Unsupported protocol version",
        }
    }

    /// Appends the body of the `400` response: `{"code":0,"message":...}`.
    pub fn write_body(self, out: &mut Vec<u8>) {
        let body = json!({ "code": self.code(), "message": self.message() });
        out.extend_from_slice(body.to_string().as_bytes());
    }
}

/// Reads `EIO=4&transport=polling|websocket[&sid=...]` (other parameters,
/// such as the cache-busting `t=`, are ignored; of a repeated one the
/// first counts). `query` is what follows the `?`.
pub fn parse_query(query: &str) -> Result<Query<'_>, RequestError> {
    let mut eio = None;
    let mut transport = None;
    let mut sid = None;
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match key {
            "EIO" => &mut eio,
            "transport" => &mut transport,
            "sid" => &mut sid,
            _ => continue,
        };
        slot.get_or_insert(value);
    }
    if eio != Some(PROTOCOL) {
        return Err(RequestError::UnsupportedVersion);
    }
    let transport = match transport {
        Some("polling") => Transport::Polling,
        Some("websocket") => Transport::WebSocket,
        _ => return Err(RequestError::UnknownTransport),
    };
    Ok(Query { transport, sid })
}

#[cfg(test)]
mod tests;
