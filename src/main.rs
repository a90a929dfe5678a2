//! `reactor`: parse the command line, start logging, run one command, and
//! turn its outcome into an exit status (0 done, 1 runtime error, 2 usage
//! error, which clap reports itself).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use log::LevelFilter;

use reactor::cli::{Cli, Command};
use reactor::client;
use reactor::event_loop::Config;
use reactor::event_loop::NARRATION;
use reactor::load;
use reactor::process::Failure;
use reactor::proto::chat::Chat;
use reactor::proto::echo::Echo;
use reactor::proto::http::Http;
use reactor::proto::udp_echo::UdpEcho;
use reactor::server::{run_announced, serve, start};

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    // At trace level (-vv) the loop's narration is the trace there is.
    if cli.log_level() == LevelFilter::Trace {
        if let Some(args) = cli.command.loop_args_mut() {
            args.trace = true;
        }
    }
    if let Command::Load {
        mode: load::Mode::Chat,
        rate: 0,
        ..
    } = cli.command
    {
        // A usage error (exit 2), like any other bad combination of options.
        use clap::CommandFactory;
        Cli::command()
            .error(
                clap::error::ErrorKind::MissingRequiredArgument,
                "--mode chat needs --rate: a chat line gets no reply to pace a closed loop",
            )
            .exit();
    }
    start_logging(&cli);
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Error(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
        Err(Failure::Signal(signal)) => ExitCode::from(128u8.saturating_add(signal as u8)),
    }
}

fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Echo { bind, server } => serve("echo", "tcp", bind, server.config(), Echo),
        Command::Chat {
            bind,
            server,
            max_line,
        } => serve(
            "chat",
            "tcp",
            bind,
            server.config(),
            Chat::new(max_line as usize),
        ),
        Command::UdpEcho { bind, udp } => serve_udp_echo(bind, udp.config()),
        Command::Client {
            addr,
            udp: false,
            max_outbuf,
            ..
        } => client::run_tcp(&addr, max_outbuf),
        Command::Client {
            addr,
            udp: true,
            wait,
            ..
        } => client::run_udp(&addr, Duration::from_millis(wait)),
        Command::Load {
            addr,
            mode,
            connections,
            duration,
            size,
            rate,
            pipeline,
            threads,
            warmup,
            json,
        } => load::run(load::Options {
            addr,
            mode,
            connections,
            duration: Duration::from_secs(duration),
            warmup: Duration::from_secs(warmup),
            size: usize::try_from(size).unwrap_or(usize::MAX),
            rate,
            pipeline: usize::try_from(pipeline).unwrap_or(usize::MAX),
            threads,
            json,
        }),
        Command::Http {
            bind,
            header_timeout,
            server,
        } => {
            let header_timeout = (header_timeout > 0).then(|| Duration::from_secs(header_timeout));
            serve(
                "http",
                "http",
                bind,
                server.config(),
                Http::new(header_timeout),
            )
        }
    }
}

/// The UDP echo server owns its socket, so it binds before the loop
/// starts and registers the socket as a source of its own.
fn serve_udp_echo(bind: SocketAddr, config: Config) -> Result<(), Failure> {
    let echo =
        UdpEcho::bind(bind, config.max_outbuf).map_err(|e| format!("cannot bind {bind}: {e}"))?;
    let addr = echo
        .local_addr()
        .map_err(|e| format!("cannot read the address of {bind}: {e}"))?;
    let mut reactor = start(config, echo)?;
    let (echo, io) = reactor.parts();
    echo.register(io)
        .map_err(|e| format!("cannot watch {addr}: {e}"))?;
    run_announced(&mut reactor, "udp-echo", "udp", addr)
}

/// Logs go to stderr (stdout carries only the readiness line and data).
/// `--trace` narration is logged at trace level under its own target
/// (`NARRATION`), which is let through whatever the general level is; the
/// loop's other lines keep the level `-v`/`-q` chose.
fn start_logging(cli: &Cli) {
    let trace = cli.command.loop_args().is_some_and(|args| args.trace);
    let level = cli.log_level();
    let mut logger = simple_logger::SimpleLogger::new().with_level(level);
    if cli.verbose < 3 {
        // mio's own registration chatter is for -vvv; -vv is our trace.
        logger = logger.with_module_level("mio", level.min(LevelFilter::Debug));
    }
    if trace {
        logger = logger.with_module_level(NARRATION, LevelFilter::Trace);
    }
    // Fails only if a logger is already set, which cannot happen here.
    let _ = logger.init();
}
