//! The command line. The doc comments here are what `--help` prints, so
//! they are written for the person at the terminal.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use log::LevelFilter;

use crate::event_loop::Config;
use crate::load::Mode;

/// A single-threaded epoll/kqueue event loop, and the servers that run on it.
///
/// Every server prints exactly one line to stdout once it listens
/// (`listening on tcp://127.0.0.1:7000`); everything else goes to stderr.
/// Stop a server with Ctrl-C (SIGINT) or SIGTERM: it flushes what it owes
/// its clients and exits 0. A second signal exits at once.
///
/// Try: `reactor chat` in one terminal, `nc 127.0.0.1 7001` in two others.
#[derive(Debug, Parser)]
#[command(name = "reactor", version, propagate_version = true)]
pub struct Cli {
    /// More log output: -v debug (one line per connection), -vv trace,
    /// -vvv also mio's own trace.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Less log output: -q warnings only, -qq errors only.
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "verbose")]
    pub quiet: u8,

    /// Set the log level outright: error, warn, info, debug or trace.
    /// Without this, -v or -q, a level name in RUST_LOG is used.
    #[arg(long, value_name = "LEVEL", global = true)]
    pub log_level: Option<LevelFilter>,

    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// TCP echo server: every byte received is sent back unchanged.
    ///
    /// A client that sends but does not read gets at most --max-outbuf
    /// bytes queued; then the server stops reading from it until it reads
    /// (TCP backpressure), and other clients are not slowed.
    Echo {
        /// Address to listen on (IPv4 or IPv6; port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:7000", value_name = "ADDR")]
        bind: SocketAddr,
        /// Options every server shares.
        #[command(flatten)]
        server: ServerArgs,
    },

    /// Line-based chat server: connect with `nc` or `telnet`, type lines.
    ///
    /// Everyone starts as guest-N in #lobby; a line is said to your room.
    /// Commands: /nick NAME, /me ACTION, /msg NAME TEXT, /who, /join ROOM,
    /// /rooms, /help, /quit. A member whose unread output passes
    /// --max-outbuf is disconnected, so nobody else waits for it.
    Chat {
        /// Address to listen on (IPv4 or IPv6; port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:7001", value_name = "ADDR")]
        bind: SocketAddr,
        /// Longest line a client may send, in bytes (without the `\n`); a
        /// longer one is answered with an error and dropped.
        #[arg(long, allow_negative_numbers = true, default_value_t = 4096, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(1..))]
        max_line: u32,
        /// Options every server shares.
        #[command(flatten)]
        server: ServerArgs,
    },

    /// HTTP/1.1 plaintext responder: the target to point wrk, ab or oha at.
    ///
    /// GET / answers "Hello, World!"; GET /stats the server's counters as
    /// JSON; any other path 404. Keep-alive and pipelining (answers in
    /// request order, all answers to one read in one write), HTTP/1.0,
    /// Connection: close. Malformed requests get 400, heads over 8 KiB 431,
    /// chunked bodies 501, each followed by a close.
    Http {
        /// Address to listen on (IPv4 or IPv6; port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
        bind: SocketAddr,
        /// Close a connection whose request head has begun but not ended
        /// after this many seconds, with 408 (0 = never). This is what
        /// stops a slowloris client that trickles its headers.
        #[arg(
            long,
            allow_negative_numbers = true,
            default_value_t = 10,
            value_name = "SECS",
            value_parser = seconds()
        )]
        header_timeout: u64,
        /// Options every server shares.
        #[command(flatten)]
        server: ServerArgs,
    },

    /// UDP echo server: every datagram is sent back to its sender.
    ///
    /// Datagrams up to 65507 bytes, IPv4 or IPv6. When the socket cannot
    /// take a reply at once, replies wait in a queue of at most
    /// --max-outbuf bytes; beyond that they are dropped and counted
    /// (see --stats-interval and the summary at shutdown).
    UdpEcho {
        /// Address to listen on (IPv4 or IPv6; port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:7002", value_name = "ADDR")]
        bind: SocketAddr,
        /// The UDP server's options.
        #[command(flatten)]
        udp: UdpArgs,
    },

    /// Interactive client: stdin to the server, the server to stdout.
    ///
    /// TCP: at the end of stdin the client half-closes and keeps printing
    /// until the server closes, so `printf 'hi\n' | reactor client
    /// 127.0.0.1:7000` prints `hi` and exits 0. A refused or reset
    /// connection is one `error:` line and exit status 1.
    ///
    /// UDP (--udp): each stdin line is one datagram; each reply is printed
    /// as one line; after stdin ends the client waits --wait milliseconds
    /// for more replies, then exits.
    Client {
        /// Server address, e.g. 127.0.0.1:7000, `[::1]:7000` or localhost:7001.
        #[arg(value_name = "ADDR", value_parser = host_and_port)]
        addr: String,
        /// Use UDP: one datagram per line.
        #[arg(long)]
        udp: bool,
        /// With --udp: milliseconds to wait for replies after stdin ends.
        #[arg(
            long,
            default_value_t = 1000,
            value_name = "MS",
            value_parser = clap::value_parser!(u64).range(0..=MAX_SECONDS * 1000),
            allow_negative_numbers = true,
            requires = "udp"
        )]
        wait: u64,
        /// Most bytes queued for the server before stdin is left unread.
        #[arg(long, allow_negative_numbers = true, default_value_t = 1_048_576, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
        max_outbuf: u64,
    },

    /// Load generator: many connections against a server, then a report
    /// of throughput, latency percentiles and errors.
    ///
    /// Closed loop (the default): each connection keeps --pipeline
    /// messages in flight and sends the next as soon as one returns, so
    /// the server sets the pace. Open loop (--rate): messages leave on a
    /// fixed schedule whatever the server does, and latency counts from
    /// when each message was meant to leave, so a stalled server shows up
    /// as high latency instead of as fewer samples (no coordinated
    /// omission). Echo and UDP payloads are verified byte by byte; any
    /// mismatch or loss (or a message unanswered for a second at the end)
    /// makes the exit status 1.
    ///
    /// Try: `reactor echo` in one terminal, `reactor load 127.0.0.1:7000
    /// --mode echo --duration 3` in another.
    Load {
        /// Server address, e.g. 127.0.0.1:7000, `[::1]:8080` or localhost:7002.
        #[arg(value_name = "ADDR", value_parser = host_and_port)]
        addr: String,
        /// What to send: echo (TCP, verified), udp (datagrams, verified,
        /// lost after 1 s), http (GET / pipelined), chat (members of one
        /// room publishing lines; needs --rate).
        #[arg(long, value_enum, default_value = "echo")]
        mode: Mode,
        /// Connections (UDP: sockets) over all threads.
        #[arg(long, allow_negative_numbers = true, default_value_t = 50, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        connections: u64,
        /// Seconds to measure, after the warm-up.
        #[arg(long, allow_negative_numbers = true, default_value_t = 10, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=MAX_SECONDS))]
        duration: u64,
        /// Bytes per message (echo, udp; a UDP datagram is at least 24
        /// bytes, its header).
        #[arg(long, allow_negative_numbers = true, default_value_t = 64, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..=16 * 1024 * 1024))]
        size: u64,
        /// Messages per second over all connections: open loop. 0 = closed
        /// loop.
        #[arg(long, allow_negative_numbers = true, default_value_t = 0, value_name = "MSGS_PER_SEC", value_parser = clap::value_parser!(u64).range(0..=100_000_000))]
        rate: u64,
        /// Messages in flight per connection, in closed loop.
        #[arg(long, allow_negative_numbers = true, default_value_t = 1, value_name = "K", value_parser = clap::value_parser!(u64).range(1..=4096))]
        pipeline: u64,
        /// Event loops, one per thread; connections are split among them.
        #[arg(long, allow_negative_numbers = true, default_value_t = 1, value_name = "T", value_parser = clap::value_parser!(u64).range(1..=1024))]
        threads: u64,
        /// Seconds of load before measuring starts (connections open,
        /// caches warm); operations that end sooner are not counted.
        #[arg(long, allow_negative_numbers = true, default_value_t = 1, value_name = "SECS", value_parser = seconds())]
        warmup: u64,
        /// Print one JSON object on stdout instead of the table.
        #[arg(long)]
        json: bool,
    },
}

impl Command {
    /// The loop options, for the commands that are servers (logging needs
    /// `--trace` before the command runs).
    pub fn loop_args(&self) -> Option<&LoopArgs> {
        match self {
            Command::Echo { server, .. }
            | Command::Chat { server, .. }
            | Command::Http { server, .. } => Some(&server.loop_args),
            Command::UdpEcho { udp, .. } => Some(&udp.loop_args),
            Command::Client { .. } | Command::Load { .. } => None,
        }
    }

    /// The loop options, to change before the command runs.
    pub fn loop_args_mut(&mut self) -> Option<&mut LoopArgs> {
        match self {
            Command::Echo { server, .. }
            | Command::Chat { server, .. }
            | Command::Http { server, .. } => Some(&mut server.loop_args),
            Command::UdpEcho { udp, .. } => Some(&mut udp.loop_args),
            Command::Client { .. } | Command::Load { .. } => None,
        }
    }
}

/// Checks that `text` has the shape `HOST:PORT` with a valid port. The name
/// is resolved later, when the client starts: a name that does not resolve
/// is a runtime error (exit 1), not a usage error.
fn host_and_port(text: &str) -> Result<String, String> {
    if text.parse::<SocketAddr>().is_ok() {
        return Ok(text.to_string());
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
            Ok(text.to_string())
        }
        _ => Err("expected HOST:PORT, e.g. 127.0.0.1:7000 or localhost:7001".to_string()),
    }
}

/// The longest time any option takes, in seconds: about 31 years. Clocks
/// cannot count much further ahead (an `Instant` plus 2^64 seconds
/// overflows), and no timeout needs to.
pub const MAX_SECONDS: u64 = 1_000_000_000;

/// The parser for options in seconds: 0 to [`MAX_SECONDS`].
fn seconds() -> clap::builder::RangedU64ValueParser {
    clap::value_parser!(u64).range(0..=MAX_SECONDS)
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

/// Zero means "off".
fn seconds_or_off(secs: u64) -> Option<Duration> {
    (secs > 0).then(|| Duration::from_secs(secs))
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
        Config {
            max_conns: self.max_conns as usize,
            idle_timeout: seconds_or_off(self.idle_timeout),
            max_outbuf: usize::try_from(self.max_outbuf).unwrap_or(usize::MAX),
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
}

impl Cli {
    /// The log level the flags ask for: `--log-level`, then -v/-q, then
    /// `RUST_LOG`, then `info`.
    pub fn log_level(&self) -> LevelFilter {
        if let Some(level) = self.log_level {
            return level;
        }
        match (self.verbose, self.quiet) {
            (0, 0) => std::env::var("RUST_LOG")
                .ok()
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(LevelFilter::Info),
            (1, _) => LevelFilter::Debug,
            (v, _) if v >= 2 => LevelFilter::Trace,
            (_, 1) => LevelFilter::Warn,
            _ => LevelFilter::Error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn verbosity_flags_map_to_levels() {
        let level = |args: &[&str]| Cli::parse_from(args).log_level();
        assert_eq!(level(&["reactor", "-v", "echo"]), LevelFilter::Debug);
        assert_eq!(level(&["reactor", "echo", "-vv"]), LevelFilter::Trace);
        assert_eq!(level(&["reactor", "-q", "echo"]), LevelFilter::Warn);
        assert_eq!(level(&["reactor", "-qq", "echo"]), LevelFilter::Error);
        assert_eq!(
            level(&["reactor", "--log-level", "debug", "echo"]),
            LevelFilter::Debug
        );
    }

    #[test]
    fn http_has_its_defaults() -> Result<(), std::net::AddrParseError> {
        let cli = Cli::parse_from(["reactor", "http", "--trace"]);
        assert!(cli.command.loop_args().is_some_and(|args| args.trace));
        let Command::Http {
            bind,
            header_timeout,
            ..
        } = cli.command
        else {
            panic!("not http: {:?}", cli.command);
        };
        assert_eq!(bind, "127.0.0.1:8080".parse::<SocketAddr>()?);
        assert_eq!(header_timeout, 10);
        Ok(())
    }

    #[test]
    fn out_of_range_values_are_usage_errors() {
        for bad in [
            &["reactor", "echo", "--max-conns", "-1"][..],
            &["reactor", "echo", "--max-conns", "0"],
            &["reactor", "echo", "--bind", "nowhere"],
            &["reactor", "echo", "--idle-timeout", "soon"],
            &["reactor", "echo", "--idle-timeout", "18446744073709551615"],
            &[
                "reactor",
                "echo",
                "--stats-interval",
                "18446744073709551615",
            ],
            &[
                "reactor",
                "echo",
                "--shutdown-timeout",
                "18446744073709551615",
            ],
            &["reactor", "http", "--header-timeout", "9300000000000000000"],
            &[
                "reactor",
                "client",
                "--udp",
                "--wait",
                "18446744073709551615",
                "[::1]:1",
            ],
            &["reactor", "client", "no-port-here"],
            &["reactor", "chat", "--max-line", "0"],
            &["reactor", "chat", "--max-line", "-1"],
            &["reactor", "http", "--header-timeout", "-1"],
        ] {
            match Cli::try_parse_from(bad) {
                Err(err) => assert_eq!(err.exit_code(), 2, "{bad:?}"),
                Ok(cli) => panic!("{bad:?} was accepted: {cli:?}"),
            }
        }
    }
}
