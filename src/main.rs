//! `reactor`: parse the command line, start logging, run one command, and
//! turn its outcome into an exit status (0 done, 1 runtime error, 2 usage
//! error, which clap reports itself, 128 + N after a second signal N).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::{CommandFactory, Parser};
use log::LevelFilter;

use reactor::cli::{ChatArgs, Cli, Command, EchoArgs, HttpArgs, UdpEchoArgs};
use reactor::client;
use reactor::event_loop::UdpSocket;
use reactor::event_loop::NARRATION;
use reactor::load;
use reactor::process::{seconds_or_off, Failure};
use reactor::proto::chat::shared::Shared;
use reactor::proto::chat::web::WEB_MAX_INPUT;
use reactor::proto::chat::Chat;
use reactor::proto::echo::Echo;
use reactor::proto::http::timeouts::Timeouts;
use reactor::proto::http::Http;
use reactor::proto::udp_echo::UdpEcho;
use reactor::server::{run_announced, start, Listen};
use reactor::workers;

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
        Command::Echo(args) => serve_echo(&args),
        Command::Chat(args) => serve_chat(&args),
        Command::Http(args) => serve_http(&args),
        Command::UdpEcho(args) => serve_udp_echo(&args),
        Command::Client(args) => client::run(&args),
        Command::Load(args) => load::run(args),
    }
}

fn tcp(addr: SocketAddr) -> Listen {
    Listen::on("tcp", addr)
}

fn serve_echo(args: &EchoArgs) -> Result<(), Failure> {
    let (config, workers) = (args.server.config(), workers::count(args.server.workers));
    workers::serve("echo", &[tcp(args.bind)], config, workers, |_| Ok(Echo))
}

fn serve_chat(args: &ChatArgs) -> Result<(), Failure> {
    let max_line = args.max_line as usize;
    let mut config = args.server.config();
    // A line may wait for its end whole: `--max-line` and its `\r\n`.
    config.max_input = config.max_input.max(max_line + 2);
    let mut listen = vec![tcp(args.bind)];
    if let Some(web) = args.web {
        listen.push(Listen {
            // Long-polling needs every request of a session on the loop
            // that holds the session: the web port is the first worker's.
            every_worker: false,
            ..Listen::on("http", web)
        });
        // A polling body is read whole: up to Engine.IO's maxPayload.
        config.max_input = config.max_input.max(WEB_MAX_INPUT);
    }
    // One chat for every worker: the shared state, and an inbox each,
    // which worker `n` takes when its loop is built on its thread.
    let workers = workers::count(args.server.workers);
    let (shared, inboxes) = Shared::new(workers, max_line);
    let inboxes = Mutex::new(inboxes.into_iter().map(Some).collect::<Vec<_>>());
    let max_outbuf = config.max_outbuf;
    let heartbeat = args.heartbeat();
    workers::serve("chat", &listen, config, workers, move |n| {
        let inbox = inboxes
            .lock()
            .ok()
            .and_then(|mut all| all.get_mut(n).and_then(Option::take));
        // Each worker's inbox is taken exactly once, by that worker.
        let inbox = inbox.ok_or_else(|| Failure::Error(format!("worker {n}: no inbox")))?;
        Ok(Chat::of_worker(
            Arc::clone(&shared),
            n,
            inbox,
            max_line,
            max_outbuf,
            heartbeat,
        ))
    })
}

fn serve_http(args: &HttpArgs) -> Result<(), Failure> {
    let timeouts = Timeouts {
        header: seconds_or_off(args.header_timeout),
        keepalive: seconds_or_off(args.keepalive_timeout),
    };
    let listen = [Listen::on("http", args.bind)];
    let config = args.server.config();
    let workers = workers::count(args.server.workers);
    workers::serve("http", &listen, config, workers, move |_| {
        Ok(Http::new(timeouts))
    })
}

/// The UDP echo server owns its socket, so it binds before the loop
/// starts and registers the socket as a source of its own. With
/// `--workers`, each worker gets a socket of its own on the same port
/// (`SO_REUSEPORT`).
fn serve_udp_echo(args: &UdpEchoArgs) -> Result<(), Failure> {
    let (bind, config) = (args.bind, args.udp.config());
    let workers = workers::count(args.udp.workers);
    let (limit, buffers) = (config.max_outbuf, args.udp.buffers());
    if workers == 1 {
        let echo =
            UdpEcho::bind(bind, limit, buffers).map_err(|e| format!("cannot bind {bind}: {e}"))?;
        let addr = echo
            .local_addr()
            .map_err(|e| format!("cannot read the address of {bind}: {e}"))?;
        let mut reactor = start(config, echo)?;
        let (echo, io) = reactor.parts();
        echo.register(io)
            .map_err(|e| format!("cannot watch {addr}: {e}"))?;
        return run_announced(&mut reactor, "udp-echo", &[Listen::bound("udp", addr)]);
    }
    let mut sockets = Vec::new();
    let mut addr = bind;
    for _ in 0..workers {
        let socket =
            workers::reuse_port_udp(addr).map_err(|e| format!("cannot bind {addr}: {e}"))?;
        addr = socket
            .local_addr()
            .map_err(|e| format!("cannot read the address of {bind}: {e}"))?;
        sockets.push(Some(UdpSocket::from_std(socket)));
    }
    let sockets = Mutex::new(sockets);
    let make = move |n: usize| {
        // Each worker's socket is taken once, by that worker.
        let socket = sockets
            .lock()
            .ok()
            .and_then(|mut all| all.get_mut(n)?.take());
        let socket = socket.ok_or_else(|| Failure::Error(format!("worker {n}: no socket")))?;
        UdpEcho::on_socket(socket, limit, buffers)
            .map_err(|e| Failure::Error(format!("worker {n}: udp socket: {e}")))
    };
    let listen = [Listen::bound("udp", addr)];
    workers::serve("udp-echo", &listen, config, workers, make)
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
