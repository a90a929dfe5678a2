//! The protocols that run on the loop, one file (or, for HTTP, one folder)
//! each.
//!
//! Each is a state machine over bytes: it gets input through
//! [`Protocol::on_input`](crate::reactor::Protocol::on_input) and answers
//! only through [`Io`](crate::reactor::Io). None of them touches a socket.

pub mod echo;
pub mod http;
