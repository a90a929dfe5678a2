//! # reactor
//!
//! A single-threaded event loop built directly on [`mio`] (epoll on Linux,
//! kqueue on the BSDs and macOS), and the servers that run on it: TCP echo,
//! a line-based chat, UDP echo, an HTTP/1.1 load-test target, a client and
//! a load generator. It is meant to be read: start here, then follow the
//! module map. The arrows between modules only run down this list's
//! floors: `cli` and `main` wire `server`, `client` and `load`, which use
//! `process`, `proto` and `event_loop`; `proto` uses `event_loop`, and
//! `event_loop` uses nothing of the crate.
//!
//! ## Module map
//!
//! * [`event_loop`]: the generic loop. `Poll`, tokens, the connection
//!   table, the buffered connection, timers, signals, the waker. It knows
//!   no protocol; it drives anything that implements [`Protocol`].
//!   - `event_loop/mod.rs`: one turn of the loop, and where each event goes.
//!   - `event_loop/protocol.rs`: the seam, the `Protocol` trait.
//!   - `event_loop/events.rs`: what a connection's readiness does: flush,
//!     read within the budget, hand the bytes to the protocol.
//!   - `event_loop/io.rs`: what a protocol may ask of the loop (timers,
//!     connect, hold input); `event_loop/output.rs`: sending, queueing,
//!     flushing, and the limit on what waits; `event_loop/close.rs`: the
//!     one close sequence every connection follows.
//!   - `event_loop/conn.rs`: the buffered connection and its state machine
//!     (one `set_state`); `event_loop/deadline.rs`: its one timer (idle, a
//!     stalled close, lingering).
//!   - `event_loop/conn_map.rs`: `ConnMap`, the one table keyed by
//!     connection, used by the loop and by every protocol.
//!   - `event_loop/token.rs`: slot plus generation, so a stale event never
//!     reaches a new connection; whose each token is.
//!   - `event_loop/accept.rs`, `event_loop/shutdown.rs`,
//!     `event_loop/signals.rs`: listeners, graceful shutdown, SIGINT and
//!     SIGTERM as a source; `event_loop/handle.rs`: the way in from other
//!     threads.
//!   - `event_loop/outqueue.rs`: queued output, written with one `writev`,
//!     bounded by what it really holds.
//!   - `event_loop/timer.rs`: deadlines in order; the first bounds `poll`.
//!   - `event_loop/source.rs`, `event_loop/datagram.rs`: sources a protocol
//!     owns (UDP sockets, stdin), and what every UDP socket shares.
//!   - `event_loop/stats.rs`: counters.
//! * [`proto`]: the protocols, one file (or folder) each, as state machines
//!   over bytes.
//!   - `proto/echo.rs`: every byte back.
//!   - `proto/line.rs`: the line framer every line protocol shares.
//!   - `proto/telnet.rs`: the Telnet filter in front of chat's framer, so
//!     `telnet` users are served as well as `nc` users.
//!   - `proto/chat/`: the chat server: `command.rs` parses a line,
//!     `state.rs` is the chat (members, names, rooms) with no sockets, and
//!     `mod.rs` adapts it to the loop.
//!   - `proto/http/`: HTTP/1.1 plaintext: a connection's bytes in, the
//!     batch of answers out, with no loop (`exchange.rs`), heads parsed by
//!     `httparse` (`request.rs`), responses (`response.rs`), the `Date`
//!     cache (`date.rs`), and the adapter with its timers (`mod.rs`).
//!   - `proto/web/`: the codecs for browsers and Socket.IO clients:
//!     WebSocket frames and handshake, Engine.IO and Socket.IO packets.
//!   - `proto/udp_echo.rs`: UDP echo, a protocol that owns its socket.
//! * [`client`]: `reactor client`, the client side of the same loop: an
//!   outgoing connection in the table, stdin as one more source.
//! * [`load`]: `reactor load`, the load generator: generators as
//!   protocols on the same loop, one loop per `--threads` thread.
//!   - `load/requests.rs`: the request generator echo (`load/echo.rs`) and
//!     HTTP (`load/http.rs`) share; `load/udp.rs`; `load/chat.rs` and
//!     `load/socketio/` (a Socket.IO client per member), the fan-out
//!     generators, with what they share in `load/fanout.rs`;
//!     `load/conns.rs`: what the TCP ones share.
//!   - `load/args.rs`: its options; `load/tally.rs`: the plan and the
//!     counts (HdrHistogram latency); `load/report.rs`: the table, the
//!     JSON, the progress line.
//! * [`server`]: wiring a server: limits, signals, the readiness line, then
//!   `run`; the options every server shares.
//! * [`workers`]: one loop per core (`--workers N`): loops that share a
//!   port (`SO_REUSEPORT`), a signal, and a stats board, and nothing else.
//! * [`process`]: what every command needs of the process: addresses,
//!   the descriptor limit, the readiness line, the error and exit status.
//! * [`cli`]: the command line (its doc comments are the `--help` text).
//!
//! The loop's types are also re-exported here: `reactor::Reactor`,
//! `reactor::Protocol`, `reactor::Io`, `reactor::ConnId`.
//!
//! ## Where does a readable event go?
//!
//! `Reactor::dispatch` in `event_loop/mod.rs`: one `match` on the token's
//! owner; a connection's event continues in `event_loop/events.rs`.

#![deny(missing_docs)]

pub mod cli;
pub mod client;
pub mod event_loop;
pub mod load;
pub mod process;
pub mod proto;
pub mod server;
pub mod workers;

// The loop's API at the crate root, so a protocol reads `reactor::Io`,
// not `reactor::event_loop::Io`.
pub use event_loop::{CloseReason, Config, ConnId, Handle, Io, Overflow, Protocol, Reactor};
