//! The command line. The doc comments here are what `--help` prints, so
//! they are written for the person at the terminal. Each command's options
//! are one `clap` struct handed as it is to the code that runs the command;
//! the client's and the load generator's live with them (`client::ClientArgs`,
//! `load::args::LoadArgs`), the options every server shares in `server.rs`.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};
use log::LevelFilter;

use crate::client::ClientArgs;
use crate::load::args::LoadArgs;
use crate::process::seconds;
use crate::proto::web::engineio::{Heartbeat, PING_INTERVAL_MS, PING_TIMEOUT_MS};
use crate::server::{LoopArgs, ServerArgs, UdpArgs};

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
    Echo(EchoArgs),

    /// Line-based chat server: connect with `nc` or `telnet`, type lines.
    ///
    /// Everyone starts as guest-N in #lobby; a line is said to your room.
    /// Commands: /nick NAME, /me ACTION, /msg NAME TEXT, /who, /join ROOM,
    /// /rooms, /help, /quit. A member whose unread output passes
    /// --max-outbuf is disconnected, so nobody else waits for it.
    Chat(ChatArgs),

    /// HTTP/1.1 plaintext responder: the target to point wrk, ab or oha at.
    ///
    /// GET / answers "Hello, World!"; GET /stats the server's counters as
    /// JSON; any other path 404. Keep-alive and pipelining (answers in
    /// request order, all answers to one read in one write), HTTP/1.0,
    /// Connection: close. Malformed requests get 400, heads over 8 KiB 431,
    /// chunked bodies 501, each followed by a close.
    Http(HttpArgs),

    /// UDP echo server: every datagram is sent back to its sender.
    ///
    /// Datagrams up to 65507 bytes, IPv4 or IPv6. When the socket cannot
    /// take a reply at once, replies wait in a queue of at most
    /// --max-outbuf bytes; beyond that they are dropped and counted
    /// (see --stats-interval and the summary at shutdown).
    UdpEcho(UdpEchoArgs),

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
    Client(ClientArgs),

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
    Load(LoadArgs),
}

/// `reactor echo`'s options.
#[derive(Debug, Clone, Args)]
pub struct EchoArgs {
    /// Address to listen on (IPv4 or IPv6; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:7000", value_name = "ADDR")]
    pub bind: SocketAddr,
    /// Options every server shares.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Longest `--ping-interval` and `--ping-timeout`. A browser's timers
/// hold at most 2^31 - 1 ms (about 24.8 days) and fire at once beyond it;
/// the client waits for their sum, which this keeps under that.
pub const MAX_PING_MS: u64 = 1_000_000_000;

/// `reactor chat`'s options.
#[derive(Debug, Clone, Args)]
pub struct ChatArgs {
    /// Address to listen on (IPv4 or IPv6; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:7001", value_name = "ADDR")]
    pub bind: SocketAddr,
    /// Longest line a client may send, in bytes (without the `\n`); a
    /// longer one is answered with an error and dropped.
    #[arg(long, allow_negative_numbers = true, default_value_t = 4096, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_line: u32,
    /// Also serve the chat to browsers on this address (HTTP): the chat
    /// page at /, a WebSocket speaking these lines at /ws, and Socket.IO
    /// at /socket.io/. Off by default; port 0 picks a free port. Its
    /// readiness line (`listening on http://...`) follows the TCP one.
    #[arg(long, value_name = "ADDR")]
    pub web: Option<SocketAddr>,
    /// With --web: milliseconds between the pings the server sends each
    /// Socket.IO client (Engine.IO's pingInterval, announced to clients).
    #[arg(long, allow_negative_numbers = true, default_value_t = PING_INTERVAL_MS, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=MAX_PING_MS))]
    pub ping_interval: u64,
    /// With --web: milliseconds a Socket.IO client has to answer a ping
    /// before it leaves the chat (Engine.IO's pingTimeout, announced).
    #[arg(long, allow_negative_numbers = true, default_value_t = PING_TIMEOUT_MS, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=MAX_PING_MS))]
    pub ping_timeout: u64,
    /// Options every server shares.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `reactor http`'s options.
#[derive(Debug, Clone, Args)]
pub struct HttpArgs {
    /// Address to listen on (IPv4 or IPv6; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub bind: SocketAddr,
    /// Answer 408 and close when a request head is not complete this many
    /// seconds after the accept (for the first request) or after its first
    /// byte (for later ones), or when a request body stops arriving for as
    /// long (0 = never). This is what stops a client that sends nothing,
    /// or trickles its headers (slowloris).
    #[arg(
        long,
        allow_negative_numbers = true,
        default_value_t = 10,
        value_name = "SECS",
        value_parser = seconds()
    )]
    pub header_timeout: u64,
    /// Close, without an answer, a keep-alive connection on which no byte
    /// of a next request has come this many seconds after the last answer
    /// (0 = never).
    #[arg(
        long,
        allow_negative_numbers = true,
        default_value_t = 75,
        value_name = "SECS",
        value_parser = seconds()
    )]
    pub keepalive_timeout: u64,
    /// Options every server shares.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `reactor udp-echo`'s options.
#[derive(Debug, Clone, Args)]
pub struct UdpEchoArgs {
    /// Address to listen on (IPv4 or IPv6; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:7002", value_name = "ADDR")]
    pub bind: SocketAddr,
    /// The UDP server's options.
    #[command(flatten)]
    pub udp: UdpArgs,
}

impl ChatArgs {
    /// What `--ping-interval` and `--ping-timeout` ask of Engine.IO
    /// sessions.
    pub fn heartbeat(&self) -> Heartbeat {
        Heartbeat {
            interval_ms: self.ping_interval,
            timeout_ms: self.ping_timeout,
        }
    }

    /// A line longer than what may be queued for one member could never be
    /// delivered to anyone: refuse the combination rather than cap it.
    pub fn check(&self) -> Result<(), String> {
        // Room for the line as relayed: `NAME: ` before it, `\n` after.
        const RELAY_OVERHEAD: u64 = 64;
        if u64::from(self.max_line) + RELAY_OVERHEAD > self.server.max_outbuf {
            return Err(format!(
                "--max-line {} does not fit in --max-outbuf {}: a line that long could not be \
                 queued for anyone; raise --max-outbuf or lower --max-line",
                self.max_line, self.server.max_outbuf
            ));
        }
        Ok(())
    }
}

impl Command {
    /// Combinations of options that cannot run: each a usage error.
    pub fn check(&self) -> Result<(), String> {
        match self {
            Command::Chat(args) => args.check(),
            Command::Load(args) => args.check(),
            Command::Echo(_) | Command::Http(_) | Command::UdpEcho(_) | Command::Client(_) => {
                Ok(())
            }
        }
    }

    /// The loop options, for the commands that are servers (logging needs
    /// `--trace` before the command runs).
    pub fn loop_args(&self) -> Option<&LoopArgs> {
        match self {
            Command::Echo(EchoArgs { server, .. })
            | Command::Chat(ChatArgs { server, .. })
            | Command::Http(HttpArgs { server, .. }) => Some(&server.loop_args),
            Command::UdpEcho(args) => Some(&args.udp.loop_args),
            Command::Client(_) | Command::Load(_) => None,
        }
    }

    /// The loop options, to change before the command runs.
    pub fn loop_args_mut(&mut self) -> Option<&mut LoopArgs> {
        match self {
            Command::Echo(EchoArgs { server, .. })
            | Command::Chat(ChatArgs { server, .. })
            | Command::Http(HttpArgs { server, .. }) => Some(&mut server.loop_args),
            Command::UdpEcho(args) => Some(&mut args.udp.loop_args),
            Command::Client(_) | Command::Load(_) => None,
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
        let Command::Http(HttpArgs {
            bind,
            header_timeout,
            keepalive_timeout,
            ..
        }) = cli.command
        else {
            panic!("not http: {:?}", cli.command);
        };
        assert_eq!(bind, "127.0.0.1:8080".parse::<SocketAddr>()?);
        assert_eq!((header_timeout, keepalive_timeout), (10, 75));
        Ok(())
    }

    #[test]
    fn chat_pings_as_engine_io_does_unless_told() {
        let heartbeat = |args: &[&str]| match Cli::parse_from(args).command {
            Command::Chat(chat) => chat.heartbeat(),
            other => panic!("not chat: {other:?}"),
        };
        assert_eq!(heartbeat(&["reactor", "chat"]), Heartbeat::default());
        let quick = [
            "reactor",
            "chat",
            "--ping-interval",
            "200",
            "--ping-timeout",
            "300",
        ];
        assert_eq!(
            heartbeat(&quick),
            Heartbeat {
                interval_ms: 200,
                timeout_ms: 300
            }
        );
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
            &["reactor", "chat", "--ping-interval", "0"],
            &["reactor", "chat", "--ping-timeout", "-5"],
            &["reactor", "chat", "--ping-timeout", "1000000001"],
            &["reactor", "http", "--header-timeout", "-1"],
            &["reactor", "http", "--keepalive-timeout", "-1"],
            &[
                "reactor",
                "http",
                "--keepalive-timeout",
                "9300000000000000000",
            ],
        ] {
            match Cli::try_parse_from(bad) {
                Err(err) => assert_eq!(err.exit_code(), 2, "{bad:?}"),
                Ok(cli) => panic!("{bad:?} was accepted: {cli:?}"),
            }
        }
    }
}
