//! The bytes of frames to send.
//!
//! Every encoder *appends* one frame to a `Vec<u8>`. A room's fan-out
//! frames its message once, into a buffer that every member's output
//! queue then shares; a connection's own replies go into whatever buffer
//! it is filling. A server's frames are never masked (RFC 6455 section
//! 5.1); [`encode_client`] masks, for the load generator and the tests,
//! which play the client.

use super::{apply_mask, Opcode, MAX_CONTROL_PAYLOAD};

/// Bytes of header a frame of `payload_len` bytes needs: 2, plus 2 or 8
/// of extended length, plus 4 of mask key if `masked`. With it a caller
/// can size a buffer exactly before framing.
pub fn header_len(payload_len: usize, masked: bool) -> usize {
    let length_bytes = match payload_len {
        0..=125 => 0,
        126..=0xFFFF => 2,
        _ => 8,
    };
    2 + length_bytes + if masked { 4 } else { 0 }
}

/// Appends one frame: `fin` marks a message's last (or only) fragment;
/// `mask` is `None` for a server's frames, the key for a client's. The
/// length takes the shortest form that holds it, as the RFC requires.
pub fn encode_frame(
    out: &mut Vec<u8>,
    opcode: Opcode,
    fin: bool,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) {
    out.reserve(header_len(payload.len(), mask.is_some()) + payload.len());
    let fin_bit = if fin { 0x80 } else { 0 };
    out.push(fin_bit | opcode.bits());
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        short @ 0..=125 => out.push(mask_bit | short as u8),
        medium @ 126..=0xFFFF => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(medium as u16).to_be_bytes());
        }
        long => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(long as u64).to_be_bytes());
        }
    }
    match mask {
        None => out.extend_from_slice(payload),
        Some(key) => {
            out.extend_from_slice(&key);
            let start = out.len();
            out.extend_from_slice(payload);
            if let Some(fresh) = out.get_mut(start..) {
                apply_mask(fresh, key, 0);
            }
        }
    }
}

/// Appends a whole text message in one frame.
pub fn encode_text(out: &mut Vec<u8>, text: &str) {
    encode_frame(out, Opcode::Text, true, text.as_bytes(), None);
}

/// Appends a whole binary message in one frame.
pub fn encode_binary(out: &mut Vec<u8>, data: &[u8]) {
    encode_frame(out, Opcode::Binary, true, data, None);
}

/// Appends a ping. A control frame holds at most 125 bytes: a longer
/// payload is cut there (the server's own pings are short).
pub fn encode_ping(out: &mut Vec<u8>, payload: &[u8]) {
    encode_frame(out, Opcode::Ping, true, control_payload(payload), None);
}

/// Appends a pong, the answer to a ping: its payload is the ping's, which
/// the decoder has already held to 125 bytes.
pub fn encode_pong(out: &mut Vec<u8>, payload: &[u8]) {
    encode_frame(out, Opcode::Pong, true, control_payload(payload), None);
}

/// Appends a close frame. `None` sends an empty payload (the answer to a
/// close that carried no code); `Some(code)` sends the code and `reason`,
/// the reason cut (at a character boundary) to the 123 bytes that fit.
pub fn encode_close(out: &mut Vec<u8>, code: Option<u16>, reason: &str) {
    let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
    let len = match code {
        None => 0,
        Some(code) => {
            let reason = cut_at_char(reason, MAX_CONTROL_PAYLOAD - 2);
            let (code_bytes, reason_bytes) = payload.split_at_mut(2);
            code_bytes.copy_from_slice(&code.to_be_bytes());
            if let Some(slot) = reason_bytes.get_mut(..reason.len()) {
                slot.copy_from_slice(reason.as_bytes());
            }
            2 + reason.len()
        }
    };
    let payload = payload.get(..len).unwrap_or_default();
    encode_frame(out, Opcode::Close, true, payload, None);
}

/// Appends one whole (final) frame as a client sends it: masked with
/// `mask`. A real client draws a fresh random key per frame (RFC 6455
/// section 5.3); a test passes a fixed one so the bytes are known.
pub fn encode_client(out: &mut Vec<u8>, opcode: Opcode, payload: &[u8], mask: [u8; 4]) {
    encode_frame(out, opcode, true, payload, Some(mask));
}

/// At most the first 125 bytes of `payload`.
fn control_payload(payload: &[u8]) -> &[u8] {
    payload.get(..MAX_CONTROL_PAYLOAD).unwrap_or(payload)
}

/// The longest start of `text` of at most `max` bytes that ends on a
/// character boundary.
fn cut_at_char(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}
