//! `reactor`: parse the command line, start logging, run one command, and
//! turn its outcome into an exit status (0 done, 1 runtime error, 2 usage
//! error, which clap reports itself, 128 + N after a second signal N).

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use log::LevelFilter;

use reactor::cli::{ChatArgs, Cli, Command, HttpArgs, UdpEchoArgs};
use reactor::client;
use reactor::event_loop::NARRATION;
use reactor::load;
use reactor::process::{seconds_or_off, Failure};
use reactor::proto::chat::web::WEB_MAX_INPUT;
use reactor::proto::chat::Chat;
use reactor::proto::echo::Echo;
use reactor::proto::http::Http;
use reactor::proto::udp_echo::UdpEcho;
use reactor::server::{run_announced, serve, start, Listen};

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    // At trace level (-vv) the loop's narration is the trace there is.
    if cli.log_level() == LevelFilter::Trace {
        if let Some(args) = cli.command.loop_args_mut() {
            args.trace = true;
        }
    }
    if let Err(message) = cli.command.check() {
        // A usage error (exit 2), like any other bad value.
        Cli::command()
            .error(clap::error::ErrorKind::ArgumentConflict, message)
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

/// Runs one command: each gets its options as clap parsed them.
fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Echo(args) => serve("echo", &[tcp(args.bind)], args.server.config(), Echo),
        Command::Chat(args) => serve_chat(&args),
        Command::Http(args) => serve_http(&args),
        Command::UdpEcho(args) => serve_udp_echo(&args),
        Command::Client(args) => client::run(&args),
        Command::Load(args) => load::run(args),
    }
}

fn tcp(addr: SocketAddr) -> Listen {
    Listen {
        scheme: "tcp",
        addr,
    }
}

fn serve_chat(args: &ChatArgs) -> Result<(), Failure> {
    let max_line = args.max_line as usize;
    let mut config = args.server.config();
    // A line may wait for its end whole: `--max-line` and its `\r\n`.
    config.max_input = config.max_input.max(max_line + 2);
    let mut listen = vec![tcp(args.bind)];
    if let Some(web) = args.web {
        listen.push(Listen {
            scheme: "http",
            addr: web,
        });
        // A polling body is read whole: up to Engine.IO's maxPayload.
        config.max_input = config.max_input.max(WEB_MAX_INPUT);
    }
    let chat = Chat::new(max_line, config.max_outbuf, args.heartbeat());
    serve("chat", &listen, config, chat)
}

fn serve_http(args: &HttpArgs) -> Result<(), Failure> {
    let http = Http::new(seconds_or_off(args.header_timeout));
    let listen = [Listen {
        scheme: "http",
        addr: args.bind,
    }];
    serve("http", &listen, args.server.config(), http)
}

/// The UDP echo server owns its socket, so it binds before the loop
/// starts and registers the socket as a source of its own.
fn serve_udp_echo(args: &UdpEchoArgs) -> Result<(), Failure> {
    let (bind, config) = (args.bind, args.udp.config());
    let echo =
        UdpEcho::bind(bind, config.max_outbuf).map_err(|e| format!("cannot bind {bind}: {e}"))?;
    let addr = echo
        .local_addr()
        .map_err(|e| format!("cannot read the address of {bind}: {e}"))?;
    let mut reactor = start(config, echo)?;
    let (echo, io) = reactor.parts();
    echo.register(io)
        .map_err(|e| format!("cannot watch {addr}: {e}"))?;
    run_announced(
        &mut reactor,
        "udp-echo",
        &[Listen {
            scheme: "udp",
            addr,
        }],
    )
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
