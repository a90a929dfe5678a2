//! The codecs of chat's web transports. Pure functions and state machines
//! over bytes, like the rest of `proto`: no socket, no clock, no I/O; the
//! loop that drives them owns all of that.
//!
//! * [`frame`]: WebSocket (RFC 6455) frames. A decoder from bytes in any
//!   chunking to whole messages and control frames (every rule of the RFC
//!   checked, each violation mapped to its close code), and encoders.

pub mod frame;
