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
use clap::Args;

use crate::process::{host_and_port, resolve, Failure, MAX_SECONDS};

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

/// `reactor client`'s options (the command's help is in `cli.rs`).
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// Server address, e.g. 127.0.0.1:7000, `[::1]:7000` or localhost:7001.
    #[arg(value_name = "ADDR", value_parser = host_and_port)]
    pub addr: String,
    /// Use UDP: one datagram per line.
    #[arg(long)]
    pub udp: bool,
    /// With --udp: milliseconds a reply may take. After stdin ends, the
    /// client exits once this passes without a reply; before, a datagram
    /// unanswered this long stops counting against --window.
    #[arg(
        long,
        default_value_t = 1000,
        value_name = "MS",
        value_parser = clap::value_parser!(u64).range(0..=MAX_SECONDS * 1000),
        allow_negative_numbers = true,
        requires = "udp"
    )]
    pub wait: u64,
    /// With --udp: most datagrams sent ahead of their replies. Each reply
    /// lets one more out, so a server is never sent more than it can
    /// queue.
    #[arg(
        long,
        default_value_t = 64,
        value_name = "N",
        value_parser = clap::value_parser!(u64).range(1..=1_000_000),
        allow_negative_numbers = true,
        requires = "udp"
    )]
    pub window: u64,
    /// Most bytes queued for the server before stdin is left unread.
    #[arg(long, allow_negative_numbers = true, default_value_t = 1_048_576, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_outbuf: u64,
}

/// Runs the client `args` describe until it is done.
pub fn run(args: &ClientArgs) -> Result<(), Failure> {
    let server = resolve(&args.addr)?;
    if args.udp {
        let wait = Duration::from_millis(args.wait);
        let window = usize::try_from(args.window).unwrap_or(usize::MAX);
        let client = udp::UdpClient::new(server, wait, window)
            .map_err(|e| format!("cannot open a UDP socket for {server}: {e}"))?;
        return run_client(Config::default(), client);
    }
    let config = Config {
        max_outbuf: usize::try_from(args.max_outbuf).unwrap_or(usize::MAX),
        ..Config::default()
    };
    run_client(config, tcp::TcpClient::new(server))
}

/// One loop, one client, until it stops itself (or Ctrl-C).
fn run_client<C: Client>(config: Config, client: C) -> Result<(), Failure> {
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
