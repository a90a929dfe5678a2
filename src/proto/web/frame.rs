//! RFC 6455 frames: the wire format, a decoder for incoming frames and
//! encoders for outgoing ones.
//!
//! A WebSocket message travels as one or more *frames*. Each frame has a
//! 2-byte header (final-fragment bit, opcode, mask bit, a 7-bit length),
//! perhaps 2 or 8 more bytes of length, perhaps a 4-byte mask key, then
//! the payload:
//!
//! ```text
//!  byte 0: F R R R opcode     F = last fragment, R = reserved (must be 0)
//!  byte 1: M len7             M = masked; len7 126 => 2-byte length follows,
//!                                         len7 127 => 8-byte length follows
//!  [2 or 8 bytes of length] [4-byte mask key if M] payload...
//! ```
//!
//! A client masks every frame it sends (XOR with the key, byte `i` with
//! `key[i % 4]`) and a server never does; control frames (close, ping,
//! pong) carry at most 125 bytes and are never fragmented, but may arrive
//! *between* the fragments of a message.
//!
//! This file holds the format itself: opcodes, close codes, reading one
//! header, masking. Then:
//!
//! * `frame/decode.rs`: [`FrameDecoder`], bytes in any chunking to whole
//!   messages and control frames, every rule checked.
//! * `frame/encode.rs`: the frames a server sends (never masked), each
//!   appended to a `Vec<u8>` so one message framed once can be shared by
//!   every recipient; and [`encode_client`], masked, for clients and tests.

mod decode;
mod encode;
#[cfg(test)]
mod tests;

use std::fmt;

pub use decode::FrameDecoder;
pub use encode::{
    encode_binary, encode_client, encode_close, encode_frame, encode_ping, encode_pong,
    encode_text, header_len,
};

/// Most bytes a control frame's payload may have (RFC 6455 section 5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// Longest frame header: 2 bytes, 8 bytes of length, 4 of mask key.
pub const MAX_HEADER: usize = 14;

/// Close code: normal closure (RFC 6455 section 7.4.1).
pub const CLOSE_NORMAL: u16 = 1000;
/// Close code: the server is going away (shutting down).
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code: the peer broke the protocol.
pub const CLOSE_PROTOCOL_ERROR: u16 = 1002;
/// Close code: a text message (or close reason) that is not UTF-8.
pub const CLOSE_INVALID_PAYLOAD: u16 = 1007;
/// Close code: a message over the size this end accepts.
pub const CLOSE_TOO_BIG: u16 = 1009;

/// The frame types of RFC 6455 section 5.2 (the other opcodes are reserved).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    /// `0x0`: the next fragment of a text or binary message.
    Continuation,
    /// `0x1`: the first (or only) frame of a UTF-8 text message.
    Text,
    /// `0x2`: the first (or only) frame of a binary message.
    Binary,
    /// `0x8`: close, with an optional code and reason.
    Close,
    /// `0x9`: ping; the other end answers with a pong of the same payload.
    Ping,
    /// `0xA`: pong.
    Pong,
}

impl Opcode {
    /// The opcode for the low four bits of byte 0, if it is not reserved.
    fn from_bits(bits: u8) -> Option<Opcode> {
        match bits {
            0x0 => Some(Opcode::Continuation),
            0x1 => Some(Opcode::Text),
            0x2 => Some(Opcode::Binary),
            0x8 => Some(Opcode::Close),
            0x9 => Some(Opcode::Ping),
            0xA => Some(Opcode::Pong),
            _ => None,
        }
    }

    /// The four bits that stand for this opcode.
    fn bits(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xA,
        }
    }

    /// Close, ping and pong: at most 125 bytes, never fragmented.
    fn is_control(self) -> bool {
        matches!(self, Opcode::Close | Opcode::Ping | Opcode::Pong)
    }
}

/// Which end's frames a decoder reads: a server reads a client's frames
/// (which must be masked), a client reads a server's (which must not be).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Reads frames sent by clients: masked.
    Server,
    /// Reads frames sent by a server: unmasked.
    Client,
}

/// What the decoder found: a whole message or a control frame. Borrows the
/// decoder's buffers until the next call to [`FrameDecoder::decode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// A whole text message, fragments joined, checked to be UTF-8.
    Text(&'a str),
    /// A whole binary message, fragments joined.
    Binary(&'a [u8]),
    /// A ping: answer with a pong of the same payload.
    Ping(&'a [u8]),
    /// A pong (the answer to a ping, or a heartbeat nobody asked for).
    Pong(&'a [u8]),
    /// The peer starts (or answers) the close handshake. `code` is `None`
    /// for an empty close payload. The decoder reads nothing after it.
    Close {
        /// The close code, if the peer sent one (already checked valid).
        code: Option<u16>,
        /// The reason, possibly empty.
        reason: &'a str,
    },
}

/// A frame the decoder refuses. The connection must be closed with
/// [`DecodeError::close_code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The framing rules were broken (close code 1002); says which.
    Protocol(&'static str),
    /// A text message or close reason that is not UTF-8 (1007).
    InvalidUtf8,
    /// A message over the decoder's `max_payload` (1009).
    TooBig,
}

impl DecodeError {
    /// The close code to send for this error.
    pub fn close_code(self) -> u16 {
        match self {
            DecodeError::Protocol(_) => CLOSE_PROTOCOL_ERROR,
            DecodeError::InvalidUtf8 => CLOSE_INVALID_PAYLOAD,
            DecodeError::TooBig => CLOSE_TOO_BIG,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Protocol(why) => f.write_str(why),
            DecodeError::InvalidUtf8 => f.write_str("text is not valid UTF-8"),
            DecodeError::TooBig => f.write_str("message too big"),
        }
    }
}

/// One frame header, as read off the wire.
#[derive(Debug, Clone, Copy)]
struct Header {
    /// The FIN bit: the message's last (or only) frame.
    fin: bool,
    /// What the frame is.
    opcode: Opcode,
    /// The mask key, if the MASK bit is set.
    mask: Option<[u8; 4]>,
    /// The payload length as announced (not yet checked against limits).
    len: u64,
}

/// Reads a frame header from the start of `input`: `Ok(None)` if it has
/// not all arrived, else the header and its length. Checks the rules that
/// need nothing but the header itself.
fn parse_header(input: &[u8]) -> Result<Option<(Header, usize)>, DecodeError> {
    let Some(&[first, second]) = input.first_chunk::<2>() else {
        return Ok(None);
    };
    if first & 0x70 != 0 {
        // RSV1-3 mean an extension, and this end negotiates none.
        return Err(DecodeError::Protocol("reserved bits set"));
    }
    let opcode = Opcode::from_bits(first & 0x0F).ok_or(DecodeError::Protocol("reserved opcode"))?;
    let (len, mut at) = match second & 0x7F {
        126 => match bytes_at::<2>(input, 2) {
            Some(bytes) => (u64::from(u16::from_be_bytes(bytes)), 4),
            None => return Ok(None),
        },
        127 => match bytes_at::<8>(input, 2) {
            Some(bytes) => (u64::from_be_bytes(bytes), 10),
            None => return Ok(None),
        },
        short => (u64::from(short), 2),
    };
    if len >> 63 != 0 {
        return Err(DecodeError::Protocol("64-bit length with the top bit set"));
    }
    let mask = if second & 0x80 != 0 {
        let Some(key) = bytes_at::<4>(input, at) else {
            return Ok(None);
        };
        at += 4;
        Some(key)
    } else {
        None
    };
    let fin = first & 0x80 != 0;
    Ok(Some((
        Header {
            fin,
            opcode,
            mask,
            len,
        },
        at,
    )))
}

/// `N` bytes of `input` from `at`, if they have arrived.
fn bytes_at<const N: usize>(input: &[u8], at: usize) -> Option<[u8; N]> {
    input.get(at..)?.first_chunk::<N>().copied()
}

/// XORs `bytes` with the mask key; `offset` is how many payload bytes came
/// before them, so a payload unmasked in pieces gets the same result.
/// Masking and unmasking are the same operation.
fn apply_mask(bytes: &mut [u8], key: [u8; 4], offset: usize) {
    for (byte, k) in bytes.iter_mut().zip(key.iter().cycle().skip(offset % 4)) {
        *byte ^= k;
    }
}

/// Whether a peer may send this close code: the ones RFC 6455 section
/// 7.4.1 defines for use on the wire, those IANA registered since
/// (1012-1014), and the ranges for libraries (3000-3999) and applications
/// (4000-4999). 1004-1006 and 1015 are reserved, never sent.
pub fn is_valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}
