//! [`FrameDecoder`]: one connection's incoming frames, in any chunking, to
//! whole messages and control frames.
//!
//! It is shaped like the line framer: the loop hands it the bytes it has,
//! it says how many it consumed, and the loop keeps the rest (at most an
//! incomplete header, 13 bytes) for the next read. Unlike the line framer
//! it does own a buffer: a masked payload must be unmasked into memory of
//! its own, and fragments must be joined. It takes payload bytes as soon
//! as they arrive, so a connection costs at most one message of
//! `max_payload` bytes, one control payload (125 bytes) and 13 header
//! bytes, whatever the chunking. A message that would grow past `max_payload` is
//! refused at the header that announces it, before its bytes arrive.
//!
//! Each violation is an error that names the close code to send
//! ([`DecodeError::close_code`]); after an error, or after a close frame,
//! the decoder reads nothing more.

use std::fmt;

use log::trace;

use super::{
    apply_mask, is_valid_close_code, parse_header, DecodeError, Event, Header, Opcode, Role,
    MAX_CONTROL_PAYLOAD,
};

/// A message buffer larger than this is given back to the allocator once
/// its message is delivered, so an idle connection that once received a
/// large message does not keep holding it. Chat messages fit below it.
const KEEP_CAPACITY: usize = 1024;

/// The frame whose payload is being read.
#[derive(Debug, Clone, Copy)]
struct Frame {
    /// Whether this is the message's last fragment.
    fin: bool,
    /// The opcode from the header (`Continuation` for later fragments).
    opcode: Opcode,
    /// The client's mask key; `None` for a server's frame.
    mask: Option<[u8; 4]>,
    /// Payload bytes still to come.
    remaining: usize,
    /// Payload bytes already read: where the mask key cycle stands.
    offset: usize,
}

/// Where the decoder is in the byte stream.
#[derive(Debug, Clone, Copy)]
enum State {
    /// Waiting for (the rest of) a frame header.
    Header,
    /// Reading a frame's payload.
    Payload(Frame),
    /// A close frame arrived: everything after it is ignored.
    Closed,
    /// The peer broke a rule: every later call repeats the error.
    Failed(DecodeError),
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            State::Header => f.write_str("Header"),
            State::Payload(frame) => {
                write!(f, "Payload({:?}, {} left)", frame.opcode, frame.remaining)
            }
            State::Closed => f.write_str("Closed"),
            State::Failed(err) => write!(f, "Failed({err})"),
        }
    }
}

/// The one place the decoder's state changes, traced when its kind does.
/// It takes the field rather than the decoder so that it can be called
/// while an event still borrows the decoder's buffers.
fn set_state(state: &mut State, new: State) {
    if std::mem::discriminant(state) != std::mem::discriminant(&new) {
        trace!("websocket decoder {state}=>{new}");
    }
    *state = new;
}

/// Text or binary: what a message being assembled will be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DataKind {
    /// Opcode `0x1`: must be UTF-8.
    Text,
    /// Opcode `0x2`: any bytes.
    Binary,
}

/// Where the message buffer stands, between frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Assembly {
    /// No message in progress; the buffer is empty.
    Idle,
    /// Fragments of a message are arriving; more are expected.
    Building(DataKind),
    /// The buffer holds a message just handed out; the next call empties it.
    Delivered,
}

/// What a completed frame hands out; turned into an [`Event`] that
/// borrows the buffers only at the moment it is returned.
#[derive(Debug, Clone, Copy)]
enum Ready {
    /// The last fragment of a message arrived: the message buffer holds it.
    Message(DataKind),
    /// A ping, in the control buffer.
    Ping,
    /// A pong, in the control buffer.
    Pong,
    /// A close, in the control buffer (checked when it becomes an event).
    Close,
}

/// Decodes one connection's incoming frames into messages.
#[derive(Debug)]
pub struct FrameDecoder {
    /// Whose frames these are; decides whether a mask is required.
    role: Role,
    /// Largest message accepted, fragments joined.
    max_payload: usize,
    /// Where the decoder is in the stream.
    state: State,
    /// Whether a message is being assembled in `message`.
    assembly: Assembly,
    /// The message being assembled, unmasked.
    message: Vec<u8>,
    /// Bytes at the start of a text `message` already known to be UTF-8
    /// (a character split across fragments is checked once it is whole).
    utf8_checked: usize,
    /// The payload of the current control frame, unmasked.
    control: Vec<u8>,
}

impl FrameDecoder {
    /// A decoder for the frames `role` receives, accepting messages of up
    /// to `max_payload` bytes.
    pub fn new(role: Role, max_payload: usize) -> FrameDecoder {
        FrameDecoder {
            role,
            max_payload,
            state: State::Header,
            assembly: Assembly::Idle,
            message: Vec::new(),
            utf8_checked: 0,
            control: Vec::new(),
        }
    }

    /// Whether a close frame has been received (nothing more will be read).
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// Bytes of memory the decoder holds for messages and control frames
    /// (their buffers' capacity): at most `max_payload` plus 128, however
    /// the peer sends.
    pub fn buffered_bytes(&self) -> usize {
        self.message.capacity() + self.control.capacity()
    }

    /// Reads from `input` until one event is complete or the input runs
    /// out. Returns how many bytes of `input` were consumed (the caller
    /// keeps the rest and offers it again with more bytes behind it) and:
    /// `Ok(Some(event))`, to be handled before calling again; `Ok(None)`,
    /// read more; or `Err`, close the connection with its code.
    pub fn decode(&mut self, input: &[u8]) -> (usize, Result<Option<Event<'_>>, DecodeError>) {
        if self.assembly == Assembly::Delivered {
            self.recycle_message();
        }
        let mut used = 0;
        loop {
            let rest = input.get(used..).unwrap_or_default();
            match self.state {
                State::Failed(err) => return (input.len(), Err(err)),
                State::Closed => return (input.len(), Ok(None)),
                State::Header => match parse_header(rest) {
                    Ok(None) => return (used, Ok(None)),
                    Ok(Some((header, header_len))) => {
                        used += header_len;
                        if let Err(err) = self.start_frame(header) {
                            return self.fail(input, err);
                        }
                    }
                    Err(err) => return self.fail(input, err),
                },
                State::Payload(mut frame) => {
                    match self.read_payload(&mut frame, rest) {
                        Ok(taken) => used += taken,
                        Err(err) => return self.fail(input, err),
                    }
                    if frame.remaining > 0 {
                        set_state(&mut self.state, State::Payload(frame));
                        return (used, Ok(None));
                    }
                    set_state(&mut self.state, State::Header);
                    if let Some(ready) = self.finish_frame(frame) {
                        return match to_event(ready, &self.message, &self.control) {
                            Ok(event) => (used, Ok(Some(event))),
                            Err(err) => {
                                set_state(&mut self.state, State::Failed(err));
                                (input.len(), Err(err))
                            }
                        };
                    }
                }
            }
        }
    }

    /// Enters the failed state: the connection is to be closed.
    fn fail<'a>(
        &mut self,
        input: &[u8],
        err: DecodeError,
    ) -> (usize, Result<Option<Event<'a>>, DecodeError>) {
        set_state(&mut self.state, State::Failed(err));
        (input.len(), Err(err))
    }

    /// Empties the buffer of a delivered message, giving a large one back.
    fn recycle_message(&mut self) {
        self.message.clear();
        if self.message.capacity() > KEEP_CAPACITY {
            self.message = Vec::new();
        }
        self.utf8_checked = 0;
        self.assembly = Assembly::Idle;
    }

    /// Checks a header against the rules that depend on what came before,
    /// and prepares to read its payload.
    fn start_frame(&mut self, header: Header) -> Result<(), DecodeError> {
        match (self.role, header.mask) {
            (Role::Server, None) => return Err(DecodeError::Protocol("client frame not masked")),
            (Role::Client, Some(_)) => return Err(DecodeError::Protocol("server frame masked")),
            (Role::Server, Some(_)) | (Role::Client, None) => {}
        }
        if header.opcode.is_control() {
            if !header.fin {
                return Err(DecodeError::Protocol("fragmented control frame"));
            }
            if header.len > MAX_CONTROL_PAYLOAD as u64 {
                return Err(DecodeError::Protocol("control frame over 125 bytes"));
            }
            self.control.clear();
        } else {
            self.start_data_frame(header.opcode)?;
            let total = (self.message.len() as u64).saturating_add(header.len);
            if total > self.max_payload as u64 {
                return Err(DecodeError::TooBig);
            }
        }
        // Both limits above bound `len` by a `usize`.
        let remaining = usize::try_from(header.len).map_err(|_| DecodeError::TooBig)?;
        let frame = Frame {
            fin: header.fin,
            opcode: header.opcode,
            mask: header.mask,
            remaining,
            offset: 0,
        };
        set_state(&mut self.state, State::Payload(frame));
        Ok(())
    }

    /// The fragmentation rules: a message starts with text or binary, goes
    /// on with continuations, and no new message starts inside another.
    fn start_data_frame(&mut self, opcode: Opcode) -> Result<(), DecodeError> {
        let kind = match opcode {
            Opcode::Text => DataKind::Text,
            Opcode::Binary => DataKind::Binary,
            Opcode::Continuation | Opcode::Close | Opcode::Ping | Opcode::Pong => {
                return match self.assembly {
                    Assembly::Building(_) => Ok(()),
                    Assembly::Idle | Assembly::Delivered => Err(DecodeError::Protocol(
                        "continuation frame without a message to continue",
                    )),
                };
            }
        };
        match self.assembly {
            Assembly::Building(_) => Err(DecodeError::Protocol(
                "new message inside a fragmented message",
            )),
            Assembly::Idle | Assembly::Delivered => {
                self.recycle_message();
                self.assembly = Assembly::Building(kind);
                Ok(())
            }
        }
    }

    /// Takes what `input` holds of the current payload, unmasked into the
    /// right buffer. Returns the bytes taken.
    fn read_payload(&mut self, frame: &mut Frame, input: &[u8]) -> Result<usize, DecodeError> {
        let take = frame.remaining.min(input.len());
        let chunk = input.get(..take).unwrap_or_default();
        let buffer = if frame.opcode.is_control() {
            // Capped like the message buffer: a control payload that came
            // in pieces let `Vec` double its buffer past 125 bytes, to 326
            // held for a `max_payload` of 192 (found by the `ws_frame` fuzz
            // target; `buffered_bytes` promises at most `max_payload + 128`).
            reserve_capped(&mut self.control, take, MAX_CONTROL_PAYLOAD);
            &mut self.control
        } else {
            reserve_capped(&mut self.message, take, self.max_payload);
            &mut self.message
        };
        let start = buffer.len();
        buffer.extend_from_slice(chunk);
        if let (Some(key), Some(fresh)) = (frame.mask, buffer.get_mut(start..)) {
            apply_mask(fresh, key, frame.offset);
        }
        frame.remaining -= take;
        frame.offset += take;
        if self.assembly == Assembly::Building(DataKind::Text) && !frame.opcode.is_control() {
            self.check_utf8_so_far()?;
        }
        Ok(take)
    }

    /// Checks the new bytes of a text message as they arrive, so bad text
    /// is refused at once instead of after a megabyte more. A character cut
    /// at the end may be finished by the next bytes: it waits.
    fn check_utf8_so_far(&mut self) -> Result<(), DecodeError> {
        let unchecked = self.message.get(self.utf8_checked..).unwrap_or_default();
        match std::str::from_utf8(unchecked) {
            Ok(_) => self.utf8_checked = self.message.len(),
            Err(e) if e.error_len().is_none() => self.utf8_checked += e.valid_up_to(),
            Err(_) => return Err(DecodeError::InvalidUtf8),
        }
        Ok(())
    }

    /// A frame's payload is all here: what, if anything, it completes.
    fn finish_frame(&mut self, frame: Frame) -> Option<Ready> {
        match frame.opcode {
            Opcode::Ping => Some(Ready::Ping),
            Opcode::Pong => Some(Ready::Pong),
            Opcode::Close => {
                set_state(&mut self.state, State::Closed);
                Some(Ready::Close)
            }
            Opcode::Text | Opcode::Binary | Opcode::Continuation => match self.assembly {
                Assembly::Building(kind) if frame.fin => {
                    self.assembly = Assembly::Delivered;
                    Some(Ready::Message(kind))
                }
                Assembly::Building(_) | Assembly::Idle | Assembly::Delivered => None,
            },
        }
    }
}

/// Makes room in `buffer` for `more` bytes, doubling as `Vec` does but
/// never past `limit`, so a full message costs `limit` bytes, not up to
/// twice that. Memory grows only with bytes that have arrived: a header
/// that announces a megabyte costs nothing until the megabyte comes.
fn reserve_capped(buffer: &mut Vec<u8>, more: usize, limit: usize) {
    let needed = buffer.len().saturating_add(more);
    if needed > buffer.capacity() {
        let target = needed
            .max(buffer.capacity().saturating_mul(2))
            .min(limit)
            .max(needed);
        buffer.reserve_exact(target - buffer.len());
    }
}

/// The event for a completed frame, with the checks that need the whole
/// payload: text is UTF-8; a close payload is empty or a valid code and a
/// UTF-8 reason.
fn to_event<'b>(
    ready: Ready,
    message: &'b [u8],
    control: &'b [u8],
) -> Result<Event<'b>, DecodeError> {
    match ready {
        Ready::Message(DataKind::Text) => std::str::from_utf8(message)
            .map(Event::Text)
            .map_err(|_| DecodeError::InvalidUtf8),
        Ready::Message(DataKind::Binary) => Ok(Event::Binary(message)),
        Ready::Ping => Ok(Event::Ping(control)),
        Ready::Pong => Ok(Event::Pong(control)),
        Ready::Close => match control {
            [] => Ok(Event::Close {
                code: None,
                reason: "",
            }),
            [_] => Err(DecodeError::Protocol("close payload of one byte")),
            [high, low, reason @ ..] => {
                let code = u16::from_be_bytes([*high, *low]);
                if !is_valid_close_code(code) {
                    return Err(DecodeError::Protocol("invalid close code"));
                }
                let reason = std::str::from_utf8(reason).map_err(|_| DecodeError::InvalidUtf8)?;
                Ok(Event::Close {
                    code: Some(code),
                    reason,
                })
            }
        },
    }
}
