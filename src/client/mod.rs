//! `reactor client`: the client side of the same loop.
//!
//! A client is just another [`Protocol`]: its
//! outgoing connection sits in the same slab as a server's accepted ones and
//! uses the same buffered connection, and stdin is one more source on the
//! same `poll`. There is no second event loop and no blocking copy loop:
//! bytes from stdin are sent when stdin is readable, bytes from the server
//! are printed when the socket is readable, and each waits for the other
//! only through backpressure (stdin is not read while the socket's queue is
//! full).
//!
//! * [`tcp`]: `reactor client ADDR`.
//! * [`udp`]: `reactor client ADDR --udp`, one datagram per stdin line.
//! * [`stdin`]: stdin as a pollable source, or a reader thread where
//!   `poll` refuses it.

pub mod stdin;
pub mod tcp;
pub mod udp;

use std::io::Write;
use std::time::Duration;

use crate::event_loop::{Config, Handle, Io, Protocol, Reactor};
use crate::process::{resolve, Failure};

/// Writes bytes from the server to stdout at once (a prompt without a
/// newline must show too). Returns false when stdout is gone (a closed
/// pipe, as with `| head`), which ends the client quietly.
fn print(bytes: &[u8]) -> bool {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .is_ok()
}

/// What the command line needs of a client protocol besides the loop's
/// callbacks: a way to start, and how the run ended.
pub trait Client: Protocol {
    /// Starts connecting and opens stdin; `handle` lets a stdin thread
    /// wake the loop.
    fn start(&mut self, io: &mut Io<Self::Timer>, handle: Handle) -> Result<(), Failure>;

    /// How the run ended, once the loop has returned.
    fn outcome(&self) -> Result<(), Failure>;
}

/// Runs the TCP client against `server` until the server closes.
pub fn run_tcp(server: &str, max_outbuf: u64) -> Result<(), Failure> {
    let server = resolve(server)?;
    let config = Config {
        max_outbuf: usize::try_from(max_outbuf).unwrap_or(usize::MAX),
        ..Config::default()
    };
    run(config, tcp::TcpClient::new(server))
}

/// Runs the UDP client against `server` until stdin ends and `wait`
/// passes without replies.
pub fn run_udp(server: &str, wait: Duration) -> Result<(), Failure> {
    let server = resolve(server)?;
    let client = udp::UdpClient::new(server, wait)
        .map_err(|e| format!("cannot open a UDP socket for {server}: {e}"))?;
    run(Config::default(), client)
}

/// One loop, one client, until it stops itself (or Ctrl-C).
fn run<C: Client>(config: Config, client: C) -> Result<(), Failure> {
    let mut reactor =
        Reactor::new(config, client).map_err(|e| format!("cannot start the event loop: {e}"))?;
    let handle = reactor.handle();
    let (client, io) = reactor.parts();
    client.start(io, handle.clone())?;
    reactor
        .stop_on_signals()
        .map_err(|e| format!("cannot install signal handlers: {e}"))?;
    reactor
        .run()
        .map_err(|e| format!("event loop failed: {e}"))?;
    if let Some(signal) = reactor.second_signal() {
        return Err(Failure::Signal(signal));
    }
    reactor.protocol().outcome()
}
