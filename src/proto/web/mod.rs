//! The codecs of chat's web transports: WebSocket (RFC 6455), Engine.IO
//! protocol 4 and Socket.IO protocol 5. Pure functions and state machines
//! over bytes and strings, like the rest of `proto`: no socket, no clock,
//! no I/O; the loop that drives them owns all of that.
//!
//! * [`handshake`]: the HTTP/1.1 `Upgrade: websocket` handshake: checks
//!   the request's headers, computes `Sec-WebSocket-Accept`, writes the
//!   `101 Switching Protocols` (or the error) response.
//! * [`frame`]: WebSocket frames. A decoder from bytes in any chunking to
//!   whole messages and control frames (every rule of the RFC checked,
//!   each violation mapped to its close code), and encoders for frames.
//! * [`engineio`]: Engine.IO packets (open, close, ping, pong, message,
//!   upgrade, noop), the long-polling payload that joins them, and the
//!   query string of `/socket.io/` requests.
//! * [`socketio`]: Socket.IO packets (connect, event, ack, ...) inside
//!   Engine.IO messages, and the events the chat server sends.
//!
//! How bytes flow, in and out:
//!
//! ```text
//!  GET /ws (Upgrade)           GET /socket.io/?EIO=4&transport=websocket
//!    handshake::check            engineio::parse_query, handshake::check
//!    frame::FrameDecoder         frame::FrameDecoder
//!    text message = chat line    text message = one Engine.IO packet
//!                                  engineio::decode_packet
//!  GET/POST /socket.io/?EIO=4&transport=polling
//!    engineio::parse_query
//!    POST body = packets joined by 0x1E: engineio::decode_payload
//!                                  message packet -> socketio::decode
//!
//!  out: a chat event -> socketio::encode_server_event = `42[...]`,
//!       the Engine.IO message a polling member's next GET carries
//!       (engineio::push_packet joins them); socketio::websocket_event
//!       = the same packet in a WebSocket text frame, built once per room
//!       message and shared by every WebSocket member.
//! ```

pub mod engineio;
pub mod frame;
pub mod handshake;
pub mod socketio;
#[cfg(test)]
mod tests;

/// Appends `text` as a JSON string, quoted and escaped by `serde_json`
/// (quotes, backslashes, control characters such as the polling separator
/// `0x1E`). For the packets whose JSON is written piece by piece, in the
/// order the protocols' documentation shows.
fn push_json_str(out: &mut Vec<u8>, text: &str) {
    // Serializing a `str` into a `Vec` cannot fail: there is no I/O to
    // fail and every string has a JSON form.
    let _ = serde_json::to_writer(&mut *out, text);
}
