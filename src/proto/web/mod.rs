//! The codecs of chat's web transports. Pure functions and state machines
//! over bytes, like the rest of `proto`: no socket, no clock, no I/O; the
//! loop that drives them owns all of that.
//!
//! * [`handshake`]: the HTTP/1.1 `Upgrade: websocket` handshake: checks
//!   the request's headers, computes `Sec-WebSocket-Accept`, writes the
//!   `101 Switching Protocols` (or the error) response.
//! * [`frame`]: WebSocket (RFC 6455) frames. A decoder from bytes in any
//!   chunking to whole messages and control frames (every rule of the RFC
//!   checked, each violation mapped to its close code), and encoders.
//! * [`engineio`]: Engine.IO packets (open, close, ping, pong, message,
//!   upgrade, noop), the long-polling payload that joins them, and the
//!   query string of `/socket.io/` requests.

pub mod engineio;
pub mod frame;
pub mod handshake;

/// Appends `text` as a JSON string, quoted and escaped by `serde_json`
/// (quotes, backslashes, control characters such as the polling separator
/// `0x1E`). For the packets whose JSON is written piece by piece, in the
/// order the protocols' documentation shows.
fn push_json_str(out: &mut Vec<u8>, text: &str) {
    // Serializing a `str` into a `Vec` cannot fail: there is no I/O to
    // fail and every string has a JSON form.
    let _ = serde_json::to_writer(&mut *out, text);
}
