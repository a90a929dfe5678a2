//! Socket.IO protocol 5: events, acknowledgements and namespaces, carried
//! inside Engine.IO `message` packets.
//!
//! A Socket.IO packet is text:
//!
//! ```text
//! <type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
//!
//! 0                          CONNECT to "/"           (client; may carry auth JSON)
//! 0{"sid":"wZX3oN0bSVIhsaknAAAI"}  CONNECT accepted   (server)
//! 4/admin,{"message":"..."}  CONNECT_ERROR for /admin (server)
//! 2["message","hi"]          EVENT: name, then arguments
//! 212["nick","alice"]        EVENT asking for ack 12
//! 312[{"ok":true}]           ACK 12 with its arguments
//! 1                          DISCONNECT
//! 51-["x",{"_placeholder":true,"num":0}]  BINARY_EVENT (+1 binary attachment)
//! ```
//!
//! On the wire each one follows the Engine.IO type digit `4`: the client's
//! `42["message","hi"]` is Engine.IO "message" + Socket.IO "EVENT".
//! [`decode`] takes the text after that `4` (what
//! [`engineio::Packet::Message`](super::engineio::Packet::Message) holds);
//! the encoders write the whole Engine.IO message, `4` included, because
//! that is exactly what goes into a polling body or a WebSocket frame.
//!
//! JSON is read and written by `serde_json`, so every string is escaped
//! correctly (quotes, control characters, the `0x1E` that separates polling
//! packets) and nesting is bounded (its parser refuses depth over 128).
//! Binary events and acks are recognised and refused
//! ([`PacketError::Binary`]): the chat has no use for attachments.

use std::fmt;

use serde_json::Value;

use super::frame::{self, Opcode};
use super::push_json_str;

/// The namespace chat lives on: the main one.
pub const MAIN_NAMESPACE: &str = "/";

/// The message of the `CONNECT_ERROR` sent for any other namespace (the
/// official server's words).
pub const INVALID_NAMESPACE: &str = "Invalid namespace";

/// One packet from a client. Namespaces borrow the input; JSON is parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Packet<'a> {
    /// `0`: join `namespace`, perhaps with authentication data (an object).
    Connect {
        /// The namespace asked for.
        namespace: &'a str,
        /// The `auth` object, if one was sent.
        auth: Option<Value>,
    },
    /// `1`: leave `namespace`.
    Disconnect {
        /// The namespace left.
        namespace: &'a str,
    },
    /// `2`: an event: a name and its arguments; `ack` if the sender wants
    /// an answer.
    Event {
        /// The namespace.
        namespace: &'a str,
        /// The ack id to answer with, if the sender asked for one.
        ack: Option<u64>,
        /// The event name: the first element of the array.
        name: String,
        /// The other elements.
        args: Vec<Value>,
    },
    /// `3`: the answer to an event the other side sent with an ack id.
    Ack {
        /// The namespace.
        namespace: &'a str,
        /// The id of the event answered.
        id: u64,
        /// The answer's arguments.
        args: Vec<Value>,
    },
    /// `4`: a refused connect (a server's packet; read for the clients).
    ConnectError {
        /// The namespace refused.
        namespace: &'a str,
        /// Usually `{"message": ...}`.
        data: Value,
    },
}

/// Why a packet cannot be read. Each ends the client's session: the
/// protocol says a receiver closes on a malformed packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketError {
    /// An empty packet: no type digit.
    Empty,
    /// A type that is not 0-6 (the character found).
    UnknownType(char),
    /// BINARY_EVENT or BINARY_ACK: recognised, not supported.
    Binary,
    /// A namespace with a control character in it.
    BadNamespace,
    /// An ack id too large for 64 bits.
    BadAckId,
    /// A payload that is not JSON.
    BadJson,
    /// JSON of the wrong shape for the packet type; says which rule.
    BadPayload(&'static str),
}

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacketError::Empty => f.write_str("empty packet"),
            PacketError::UnknownType(c) => write!(f, "unknown packet type {c:?}"),
            PacketError::Binary => f.write_str("binary attachments are not supported"),
            PacketError::BadNamespace => f.write_str("invalid namespace"),
            PacketError::BadAckId => f.write_str("ack id out of range"),
            PacketError::BadJson => f.write_str("payload is not JSON"),
            PacketError::BadPayload(why) => f.write_str(why),
        }
    }
}

/// Reads one packet: the text of an Engine.IO message (after its `4`).
pub fn decode(text: &str) -> Result<Packet<'_>, PacketError> {
    let mut chars = text.chars();
    let kind = chars.next().ok_or(PacketError::Empty)?;
    if matches!(kind, '5' | '6') {
        return Err(PacketError::Binary);
    }
    if !matches!(kind, '0'..='4') {
        return Err(PacketError::UnknownType(kind));
    }
    let (namespace, rest) = split_namespace(chars.as_str())?;
    let (ack, rest) = split_ack_id(rest)?;
    let payload = match rest {
        "" => None,
        json => Some(serde_json::from_str::<Value>(json).map_err(|_| PacketError::BadJson)?),
    };
    match (kind, ack, payload) {
        ('0', None, None) => Ok(Packet::Connect {
            namespace,
            auth: None,
        }),
        ('0', None, Some(auth @ Value::Object(_))) => Ok(Packet::Connect {
            namespace,
            auth: Some(auth),
        }),
        ('0', _, _) => Err(PacketError::BadPayload(
            "CONNECT takes an object or nothing",
        )),
        ('1', None, None) => Ok(Packet::Disconnect { namespace }),
        ('1', _, _) => Err(PacketError::BadPayload("DISCONNECT takes nothing")),
        ('2', ack, Some(Value::Array(items))) => {
            let mut items = items.into_iter();
            match items.next() {
                Some(Value::String(name)) => Ok(Packet::Event {
                    namespace,
                    ack,
                    name,
                    args: items.collect(),
                }),
                _ => Err(PacketError::BadPayload("EVENT needs a string name first")),
            }
        }
        ('2', _, _) => Err(PacketError::BadPayload("EVENT takes a non-empty array")),
        ('3', Some(id), Some(Value::Array(args))) => Ok(Packet::Ack {
            namespace,
            id,
            args,
        }),
        ('3', _, _) => Err(PacketError::BadPayload("ACK takes an id and an array")),
        ('4', None, Some(data @ (Value::Object(_) | Value::String(_)))) => {
            Ok(Packet::ConnectError { namespace, data })
        }
        ('4', _, _) => Err(PacketError::BadPayload("CONNECT_ERROR takes an object")),
        (other, _, _) => Err(PacketError::UnknownType(other)),
    }
}

/// Splits off the namespace: `/name,` at the start, else the main one.
/// A namespace runs to the first comma (or the end: `1/admin`).
fn split_namespace(text: &str) -> Result<(&str, &str), PacketError> {
    if !text.starts_with('/') {
        return Ok((MAIN_NAMESPACE, text));
    }
    let (namespace, rest) = text.split_once(',').unwrap_or((text, ""));
    // A control character (the polling separator 0x1E above all) in a
    // namespace echoed back would break the framing of the answer.
    if namespace.chars().any(char::is_control) {
        return Err(PacketError::BadNamespace);
    }
    Ok((namespace, rest))
}

/// Splits off the ack id: the digits before the payload, if any.
fn split_ack_id(text: &str) -> Result<(Option<u64>, &str), PacketError> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (id, rest) = text.split_at_checked(digits).unwrap_or(("", text));
    if id.is_empty() {
        return Ok((None, rest));
    }
    let id = id.parse().map_err(|_| PacketError::BadAckId)?;
    Ok((Some(id), rest))
}

/// The events the chat server sends, one per kind of line a TCP member
/// would get (`name: text`, `[private] ...`, `* ...`, `! ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerEvent<'a> {
    /// `message` `{"from","text"}`: a member said something in the room.
    Message {
        /// Who said it.
        from: &'a str,
        /// What was said.
        text: &'a str,
    },
    /// `private` `{"from","text"}`: a message to this member alone.
    Private {
        /// Who sent it.
        from: &'a str,
        /// What was sent.
        text: &'a str,
    },
    /// `notice` `{"text"}`: what a TCP member gets as `* text`.
    Notice {
        /// The notice.
        text: &'a str,
    },
    /// `error` `{"text"}`: what a TCP member gets as `! text`.
    Error {
        /// The error.
        text: &'a str,
    },
}

impl ServerEvent<'_> {
    /// The event's name, as the client listens for it.
    pub fn name(&self) -> &'static str {
        match self {
            ServerEvent::Message { .. } => "message",
            ServerEvent::Private { .. } => "private",
            ServerEvent::Notice { .. } => "notice",
            ServerEvent::Error { .. } => "error",
        }
    }
}

/// Appends `42["name",{...}]`: a chat event as an Engine.IO message, ready
/// for a polling body.
pub fn encode_server_event(out: &mut Vec<u8>, event: &ServerEvent<'_>) {
    out.extend_from_slice(b"42[");
    push_json_str(out, event.name());
    out.extend_from_slice(b",{");
    match *event {
        ServerEvent::Message { from, text } | ServerEvent::Private { from, text } => {
            push_json_str(out, "from");
            out.push(b':');
            push_json_str(out, from);
            out.push(b',');
            push_json_str(out, "text");
            out.push(b':');
            push_json_str(out, text);
        }
        ServerEvent::Notice { text } | ServerEvent::Error { text } => {
            push_json_str(out, "text");
            out.push(b':');
            push_json_str(out, text);
        }
    }
    out.extend_from_slice(b"}]");
}

/// The complete bytes a WebSocket member receives for `event`: a text
/// frame around `42[...]`. Built once per room message, they can be shared
/// by every WebSocket member of the room.
pub fn websocket_event(event: &ServerEvent<'_>) -> Vec<u8> {
    let mut packet = Vec::new();
    encode_server_event(&mut packet, event);
    let mut framed = Vec::with_capacity(frame::header_len(packet.len(), false) + packet.len());
    frame::encode_frame(&mut framed, Opcode::Text, true, &packet, None);
    framed
}

/// Appends `42["name",data]`: any event with one argument.
pub fn encode_event(out: &mut Vec<u8>, name: &str, data: &Value) {
    out.extend_from_slice(b"42[");
    push_json_str(out, name);
    out.push(b',');
    push_json(out, data);
    out.push(b']');
}

/// Appends `43<id>[data]`: the answer to the client's event `id`.
pub fn encode_ack(out: &mut Vec<u8>, id: u64, data: &Value) {
    out.extend_from_slice(b"43");
    out.extend_from_slice(id.to_string().as_bytes());
    out.push(b'[');
    push_json(out, data);
    out.push(b']');
}

/// Appends `40{"sid":"..."}`: the client has joined the main namespace.
pub fn encode_connect_ok(out: &mut Vec<u8>, sid: &str) {
    out.extend_from_slice(b"40{\"sid\":");
    push_json_str(out, sid);
    out.push(b'}');
}

/// Appends `44[/ns,]{"message":...}`: the connect to `namespace` is
/// refused. `namespace` comes from the client's CONNECT, which [`decode`]
/// has checked holds no comma and no control character.
pub fn encode_connect_error(out: &mut Vec<u8>, namespace: &str, message: &str) {
    out.extend_from_slice(b"44");
    if namespace != MAIN_NAMESPACE {
        out.extend_from_slice(namespace.as_bytes());
        out.push(b',');
    }
    out.extend_from_slice(b"{\"message\":");
    push_json_str(out, message);
    out.push(b'}');
}

/// Appends `41`: the server ends the client's membership of the main
/// namespace (the Engine.IO session may then be closed too).
pub fn encode_disconnect(out: &mut Vec<u8>) {
    out.extend_from_slice(b"41");
}

/// Appends `value` as compact JSON.
fn push_json(out: &mut Vec<u8>, value: &Value) {
    // Cannot fail either: a `Value`'s map keys are always strings, and its
    // numbers are always finite.
    let _ = serde_json::to_writer(&mut *out, value);
}

#[cfg(test)]
mod tests;
