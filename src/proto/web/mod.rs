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

pub mod frame;
pub mod handshake;
