//! The protocols that run on the loop, one file (or, for chat and HTTP,
//! one folder) each.
//!
//! Each is a state machine over bytes: it gets input through
//! [`Protocol::on_input`](crate::event_loop::Protocol::on_input) and answers
//! only through [`Io`](crate::event_loop::Io). None of them touches a socket.
//!
//! * [`echo`]: every byte back; the loop's mechanics with nothing on top.
//! * [`line`](mod@line): the line framer shared by line protocols.
//! * [`chat`]: the line-based chat server: framer, commands, rooms.
//! * [`telnet`]: the Telnet filter in front of chat's line framer, so
//!   `telnet` users are served as well as `nc` users.
//! * [`http`]: HTTP/1.1 plaintext, the load-test target.
//! * [`udp_echo`]: UDP echo; owns its socket as a source of its own.
//! * [`web`]: the codecs of chat's web transports: WebSocket frames and
//!   handshake, Engine.IO and Socket.IO packets.

pub mod chat;
pub mod echo;
pub mod http;
pub mod line;
pub mod telnet;
pub mod udp_echo;
pub mod web;
