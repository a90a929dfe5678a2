//! # reactor
//!
//! A single-threaded event loop built directly on [`mio`] (epoll on Linux,
//! kqueue on the BSDs and macOS), and the servers that run on it: echo and
//! a line-based chat.
//! It is meant to be read: start here, then follow the module map.
//!
//! ## Module map
//!
//! * [`event_loop`]: the generic loop. `Poll`, tokens, the connection slab,
//!   the buffered connection, timers, the waker. It knows no protocol; it
//!   drives anything that implements [`event_loop::Protocol`].
//!   - `event_loop/mod.rs`: one turn of the loop, and where each event goes.
//!   - `event_loop/protocol.rs`: the seam, the `Protocol` trait.
//!   - `event_loop/io.rs`: what a protocol may ask of the loop (send, close,
//!     timers); `event_loop/close.rs`: the one close sequence every
//!     connection follows.
//!   - `event_loop/accept.rs`, `event_loop/shutdown.rs`: the listener and
//!     graceful shutdown; `event_loop/handle.rs`: the way in from other
//!     threads.
//!   - `event_loop/conn.rs`: the buffered connection and its state machine.
//!   - `event_loop/outqueue.rs`: queued output, written with one `writev`.
//!   - `event_loop/timer.rs`: deadlines in order; the first bounds `poll`.
//!   - `event_loop/conn_map.rs`: `ConnMap`, the one table keyed by connection,
//!     used by the loop and by every protocol that keeps per-connection state.
//!   - `event_loop/token.rs`: slab keys plus generations, so a stale event
//!     never reaches a new connection.
//!   - `event_loop/stats.rs`: counters.
//! * [`proto`]: the protocols, one file (or folder) each, as state machines
//!   over bytes.
//!   - `proto/echo.rs`: every byte back.
//!   - `proto/line.rs`: the line framer every line protocol shares.
//!   - `proto/chat/`: the chat server: `command.rs` parses a line,
//!     `state.rs` is the chat (members, names, rooms) with no sockets, and
//!     `mod.rs` adapts it to the loop.
//!   - `proto/http/`: HTTP/1.1 plaintext: per-connection states and one
//!     write per read (`mod.rs`), heads parsed by `httparse`
//!     (`request.rs`), responses (`response.rs`), the `Date` cache
//!     (`date.rs`).
//!   - `proto/udp_echo.rs`: UDP echo, a protocol that owns its socket.
//! * [`client`]: `reactor client`, the client side of the same loop: an
//!   outgoing connection in the slab, stdin as one more source.
//! * [`load`]: `reactor load`, the load generator: generators as
//!   protocols on the same loop, one loop per `--threads` thread.
//!   - `load/echo.rs`, `load/http.rs`, `load/udp.rs`, `load/chat.rs`: one
//!     generator each; `load/conns.rs`: what the TCP ones share.
//!   - `load/tally.rs`: the plan and the counts (HdrHistogram latency).
//!   - `load/report.rs`: the table, the JSON, the progress line.
//! * [`cli`]: the command line (its doc comments are the `--help` text).
//! * [`server`]: wiring: limits, signals, the readiness line, then `run`.
//!
//! The loop's types are also re-exported here: `reactor::Reactor`,
//! `reactor::Protocol`, `reactor::Io`, `reactor::ConnId`.
//!
//! ## Where does a readable event go?
//!
//! `Reactor::dispatch` in `event_loop/mod.rs`: one `match` on the token.

#![deny(missing_docs)]

pub mod cli;
pub mod client;
pub mod event_loop;
pub mod load;
pub mod process;
pub mod proto;
pub mod server;

// The loop's API at the crate root, so a protocol reads `reactor::Io`,
// not `reactor::event_loop::Io`.
pub use event_loop::{CloseReason, Config, ConnId, Handle, Io, Overflow, Protocol, Reactor};
