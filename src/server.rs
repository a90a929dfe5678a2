//! Wiring a server: raise the descriptor limit, bind, catch signals, print
//! the readiness line, run, log the summary; and the options every server
//! shares. Nothing here is protocol-specific: `main.rs` hands in the
//! protocol.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use clap::Args;
use log::info;

use crate::event_loop::datagram::{BufferSizes, DEFAULT_SOCKET_BUFFER};
use crate::event_loop::{Config, Protocol, Reactor, SCRATCH_SIZE};
use crate::process::{announce, raise_fd_limit, seconds, seconds_or_off, Failure};

/// A listening address, and what the readiness line calls it (`tcp`,
/// `http`, `udp`).
#[derive(Debug, Clone, Copy)]
pub struct Listen {
    /// `tcp`, `http` or `udp`.
    pub scheme: &'static str,
    /// The address.
    pub addr: SocketAddr,
    /// With several workers: whether every worker listens on it, or the
    /// first only (see `workers.rs`).
    pub every_worker: bool,
    /// Whether the loop binds it as a TCP listener (`false`: a socket the
    /// protocol owns, bound before, only announced here).
    pub tcp: bool,
}

impl Listen {
    /// `addr`, listened on by every worker.
    pub fn on(scheme: &'static str, addr: SocketAddr) -> Listen {
        Listen {
            scheme,
            addr,
            every_worker: true,
            tcp: true,
        }
    }

    /// `addr`, bound already by the protocol (UDP): only announced.
    pub fn bound(scheme: &'static str, addr: SocketAddr) -> Listen {
        Listen {
            tcp: false,
            ..Listen::on(scheme, addr)
        }
    }
}

/// Runs `protocol` on a loop listening on every address of `listen`, in
/// order (the protocol tells its listeners apart by that order), until
/// SIGINT/SIGTERM.
pub fn serve<P: Protocol>(
    name: &str,
    listen: &[Listen],
    config: Config,
    protocol: P,
) -> Result<(), Failure> {
    let mut reactor = start(config, protocol)?;
    let mut bound = Vec::new();
    for &Listen { scheme, addr, .. } in listen {
        let addr = reactor
            .listen(addr)
            .map_err(|e| format!("cannot bind {addr}: {e}"))?;
        bound.push(Listen::on(scheme, addr));
    }
    run_announced(&mut reactor, name, &bound)
}

/// A loop for `protocol`, with the descriptor limit raised: for a server
/// whose protocol owns its socket (UDP), to wire before
/// [`run_announced`].
pub fn start<P: Protocol>(config: Config, protocol: P) -> Result<Reactor<P>, Failure> {
    raise_fd_limit();
    Reactor::new(config, protocol)
        .map_err(|e| Failure::Error(format!("cannot start the event loop: {e}")))
}

/// Catches signals, prints one readiness line per address, and runs the
/// loop until graceful shutdown completes; then logs the one summary line
/// with the run's totals.
pub fn run_announced<P: Protocol>(
    reactor: &mut Reactor<P>,
    name: &str,
    listening: &[Listen],
) -> Result<(), Failure> {
    // Before the readiness line: a signal sent the moment it appears must
    // find the handlers in place.
    reactor
        .stop_on_signals()
        .map_err(|e| format!("cannot install signal handlers: {e}"))?;
    for &Listen { scheme, addr, .. } in listening {
        announce(scheme, addr)?;
        info!("{name} server listening on {scheme}://{addr}");
    }
    let started = Instant::now();
    reactor
        .run()
        .map_err(|e| format!("event loop failed: {e}"))?;
    if let Some(signal) = reactor.second_signal() {
        return Err(Failure::Signal(signal));
    }
    info!(
        "stopped after {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        reactor.stats()
    );
    Ok(())
}

/// Options every TCP server shares.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Most connections open at once; beyond it a new connection is
    /// accepted and closed at once, with a warning in the log.
    #[arg(long, allow_negative_numbers = true, default_value_t = 10_000, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_conns: u32,

    /// Close a connection after this many seconds without input (0 = never).
    #[arg(
        long,
        allow_negative_numbers = true,
        default_value_t = 0,
        value_name = "SECS",
        value_parser = seconds()
    )]
    pub idle_timeout: u64,

    /// Most bytes queued for one connection that does not read what it is
    /// sent. Echo and HTTP then stop reading from it; chat disconnects it.
    #[arg(long, allow_negative_numbers = true, default_value_t = 1_048_576, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_outbuf: u64,

    /// Event loops, one per thread, each with its own listening socket on
    /// the same port (SO_REUSEPORT: the kernel spreads connections); 0 =
    /// one per CPU core.
    #[arg(long, allow_negative_numbers = true, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=1024))]
    pub workers: u32,

    /// Options of the loop itself.
    #[command(flatten)]
    pub loop_args: LoopArgs,
}

/// Options of the UDP echo server.
#[derive(Debug, Clone, Args)]
pub struct UdpArgs {
    /// Most bytes of replies kept while the socket cannot take them at
    /// once; replies beyond it are dropped and counted.
    #[arg(long, allow_negative_numbers = true, default_value_t = 1_048_576, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_outbuf: u64,

    /// The socket's kernel receive buffer: datagrams that arrive while the
    /// server is busy wait here, and the kernel drops what does not fit.
    /// What the kernel granted is logged (Linux doubles the value and caps
    /// it at net.core.rmem_max). 0 keeps the kernel's default.
    #[arg(long, allow_negative_numbers = true, default_value_t = DEFAULT_SOCKET_BUFFER as u64, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(0..=i32::MAX as u64))]
    pub recv_buffer: u64,

    /// The socket's kernel send buffer (capped at net.core.wmem_max on
    /// Linux). 0 keeps the kernel's default.
    #[arg(long, allow_negative_numbers = true, default_value_t = DEFAULT_SOCKET_BUFFER as u64, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(0..=i32::MAX as u64))]
    pub send_buffer: u64,

    /// Event loops, one per thread, each with its own socket on the same
    /// port (SO_REUSEPORT: the kernel spreads datagrams by their source,
    /// so one client socket is always served by one worker); 0 = one per
    /// CPU core.
    #[arg(long, allow_negative_numbers = true, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=1024))]
    pub workers: u32,

    /// Options of the loop itself.
    #[command(flatten)]
    pub loop_args: LoopArgs,
}

/// Options of the loop itself, for every server.
#[derive(Debug, Clone, Args)]
pub struct LoopArgs {
    /// Log a line of counters this often, in seconds (0 = off).
    #[arg(
        long,
        allow_negative_numbers = true,
        default_value_t = 0,
        value_name = "SECS",
        value_parser = seconds()
    )]
    pub stats_interval: u64,

    /// On SIGINT/SIGTERM, how many seconds to spend flushing output before
    /// closing connections anyway.
    #[arg(
        long,
        allow_negative_numbers = true,
        default_value_t = 5,
        value_name = "SECS",
        value_parser = seconds()
    )]
    pub shutdown_timeout: u64,

    /// Narrate the event loop: what each poll returned and what each
    /// handler did with it (logged at trace level, whatever -v says).
    #[arg(long)]
    pub trace: bool,
}

impl LoopArgs {
    /// The loop's configuration, with the defaults for what these options
    /// do not cover.
    fn config(&self) -> Config {
        Config {
            stats_interval: seconds_or_off(self.stats_interval),
            shutdown_timeout: Duration::from_secs(self.shutdown_timeout),
            trace: self.trace,
            ..Config::default()
        }
    }
}

impl ServerArgs {
    /// The loop's configuration these options describe.
    pub fn config(&self) -> Config {
        let max_outbuf = usize::try_from(self.max_outbuf).unwrap_or(usize::MAX);
        Config {
            max_conns: self.max_conns as usize,
            idle_timeout: seconds_or_off(self.idle_timeout),
            max_outbuf,
            // An unfinished message may be as large as what may be queued
            // for one connection, and at least one read's worth.
            max_input: max_outbuf.max(SCRATCH_SIZE),
            ..self.loop_args.config()
        }
    }
}

impl UdpArgs {
    /// The loop's configuration these options describe (`max_outbuf`
    /// bounds the reply queue).
    pub fn config(&self) -> Config {
        Config {
            max_outbuf: usize::try_from(self.max_outbuf).unwrap_or(usize::MAX),
            ..self.loop_args.config()
        }
    }

    /// The kernel buffers to ask the socket for.
    pub fn buffers(&self) -> BufferSizes {
        BufferSizes {
            recv: usize::try_from(self.recv_buffer).unwrap_or(usize::MAX),
            send: usize::try_from(self.send_buffer).unwrap_or(usize::MAX),
        }
    }
}
