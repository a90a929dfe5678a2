//! `reactor load`: a load generator on the same event loop as the servers.
//!
//! Each generator is a [`Protocol`] like any other: its connections are
//! outgoing ones made with [`Io::connect`] (UDP sockets are protocol
//! sources), and its clock is the loop's timers. `--threads T` runs T
//! independent loops, one per thread, and splits the connections among
//! them; no thread ever serves one connection. That is the one-loop-per-core
//! design of the servers, seen from the client side.
//!
//! * [`requests`]: the generator that echo and HTTP share: requests in
//!   flight per connection, closed or open loop, a bounded window.
//! * [`echo`]: TCP echo, every returned byte verified.
//! * [`chat`]: members of one room publishing at a rate; fan-out latency.
//! * [`socketio`]: the same over Socket.IO on WebSocket, against
//!   `reactor chat --web`.
//! * [`fanout`]: what those two share: the payload, the order check.
//! * [`http`]: `GET /` pipelined, responses parsed with `httparse`.
//! * [`udp`]: datagrams with a header, verified, lost after a second.
//! * [`conns`]: what the TCP generators share: their connection table,
//!   the open-loop schedule, timeouts, close accounting, the timers.
//! * [`args`]: the command line.
//! * [`tally`]: the plan a loop follows and the counts it keeps.
//! * [`report`]: the table, the JSON, the progress line.
//!
//! Closed loop (no `--rate`): each connection keeps `--pipeline` messages in
//! flight and sends the next when one returns, so the server sets the pace.
//! Open loop (`--rate`): messages leave on a schedule whether or not the
//! server keeps up, and latency counts from when each message was *meant*
//! to leave; see `docs/b-measuring-honestly.md` on coordinated omission.

pub mod args;
pub mod chat;
pub mod conns;
pub mod echo;
pub mod fanout;
pub mod http;
pub mod report;
pub mod requests;
pub mod socketio;
pub mod tally;
pub mod udp;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use crate::event_loop::{datagram, Config, Io, Protocol, Reactor, MAX_SOURCES};
use crate::process::{raise_fd_limit, resolve, Failure};

use args::LoadArgs;
use tally::{Plan, Tally};

/// The load generators' timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadTimer {
    /// The run is over: stop the loop.
    End,
    /// The periodic tick: open-loop sends, UDP loss checks.
    Tick,
}
/// How often the tick runs: open-loop send times are kept to within this.
pub const TICK_EVERY: Duration = Duration::from_millis(1);

/// A TCP message (or HTTP request) still unanswered this long after it
/// was sent, when the run ends, is a timeout; the same second after which
/// a UDP datagram counts as lost.
pub const TIMEOUT: Duration = Duration::from_secs(1);

/// What to load the server with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// TCP echo (`reactor echo`): payloads verified byte by byte.
    Echo,
    /// Chat (`reactor chat`): open loop only, latency per delivery.
    Chat,
    /// Socket.IO chat (`reactor chat --web`): as chat, over WebSocket.
    Socketio,
    /// UDP echo (`reactor udp-echo`): datagrams verified, losses counted.
    Udp,
    /// HTTP (`reactor http`, or any server answering `GET /`).
    Http,
}

impl Mode {
    /// The mode's name on the command line and in the report.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Echo => "echo",
            Mode::Chat => "chat",
            Mode::Socketio => "socketio",
            Mode::Udp => "udp",
            Mode::Http => "http",
        }
    }
}

/// A generator: a protocol that can start its connections and hand back
/// its tally when the loop is done.
pub trait Generator: Protocol<Timer = LoadTimer> + Sized {
    /// A generator for `plan`.
    fn new(plan: Plan, tally: Tally) -> Self;
    /// Opens the connections and arms the timers.
    fn start(&mut self, io: &mut Io<LoadTimer>);
    /// The counts, once the loop returned.
    fn finish(self, now: Instant) -> Tally;
}

/// Arms the timers every generator uses: the end, and the tick if wanted.
pub fn arm_timers(io: &mut Io<LoadTimer>, plan: &Plan, tick: bool) {
    io.set_timer(plan.end.saturating_duration_since(io.now()), LoadTimer::End);
    if tick {
        io.set_timer(TICK_EVERY, LoadTimer::Tick);
    }
}

/// Runs the load test and prints the report.
pub fn run(options: LoadArgs) -> Result<(), Failure> {
    let addr = resolve(&options.addr)?;
    let threads = options.threads.clamp(1, options.connections);
    // The report says how many loops really ran.
    let options = LoadArgs { threads, ..options };
    check_udp(&options)?;
    raise_fd_limit();
    let start = Instant::now();
    let warmup_end = start + options.warmup();
    // Each sender's share of the rate.
    let interval = (options.rate > 0)
        .then(|| Duration::from_secs_f64(options.senders() as f64 / options.rate as f64));
    let (done, results) = mpsc::channel();
    let mut progress = Vec::new();
    for t in 0..threads {
        // Connections split as evenly as they go: loop t gets numbers
        // [t*N/T, (t+1)*N/T).
        let numbers = t * options.connections / threads..(t + 1) * options.connections / threads;
        let plan = Plan {
            addr,
            numbers,
            senders: options.senders(),
            size: options.size(),
            pipeline: options.pipeline(),
            interval,
            start,
            warmup_end,
            end: warmup_end + options.duration(),
        };
        let counter = Arc::new(AtomicU64::new(0));
        progress.push(Arc::clone(&counter));
        spawn_loop(t, options.mode, plan, Tally::new(counter), done.clone())?;
    }
    drop(done);
    let total = collect(results, threads, &progress, start, warmup_end)?;
    finish(&options, addr, &total)
}

/// What UDP cannot do: datagrams over 65507 bytes, more sockets per loop
/// than it has source tokens.
fn check_udp(options: &LoadArgs) -> Result<(), Failure> {
    if options.mode != Mode::Udp {
        return Ok(());
    }
    if options.size() > datagram::MAX_DATAGRAM {
        return Err(Failure::Error(format!(
            "--size {} is over the {} bytes a UDP datagram can carry",
            options.size,
            datagram::MAX_DATAGRAM
        )));
    }
    if options.connections.div_ceil(options.threads) > MAX_SOURCES as u64 {
        return Err(Failure::Error(format!(
            "--connections {} is over {MAX_SOURCES} UDP sockets per thread; add --threads",
            options.connections
        )));
    }
    Ok(())
}

/// Starts loop number `t` on its own thread; its tally comes back on `done`.
fn spawn_loop(
    t: u64,
    mode: Mode,
    plan: Plan,
    tally: Tally,
    done: mpsc::Sender<Result<Tally, Failure>>,
) -> Result<(), Failure> {
    std::thread::Builder::new()
        .name(format!("load-{t}"))
        .spawn(move || {
            let result = match mode {
                Mode::Echo => run_loop::<echo::EchoLoad>(plan, tally),
                Mode::Http => run_loop::<http::HttpLoad>(plan, tally),
                Mode::Udp => run_loop::<udp::UdpLoad>(plan, tally),
                Mode::Chat => run_loop::<chat::ChatLoad>(plan, tally),
                Mode::Socketio => run_loop::<socketio::SocketIoLoad>(plan, tally),
            };
            let _ = done.send(result);
        })
        .map(|_| ())
        .map_err(|e| Failure::Error(format!("cannot start a load thread: {e}")))
}

/// Waits for every loop's tally, showing progress meanwhile.
fn collect(
    results: mpsc::Receiver<Result<Tally, Failure>>,
    threads: u64,
    progress: &[Arc<AtomicU64>],
    start: Instant,
    warmup_end: Instant,
) -> Result<Tally, Failure> {
    let mut line = report::Progress::new(start, warmup_end);
    let mut total: Option<Tally> = None;
    let mut received = 0;
    while received < threads {
        match results.recv_timeout(Duration::from_millis(500)) {
            Ok(result) => {
                received += 1;
                let tally = result?;
                match total.as_mut() {
                    Some(total) => total.merge(&tally),
                    None => total = Some(tally),
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let ops = progress.iter().map(|c| c.load(Ordering::Relaxed)).sum();
                line.show(ops);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(Failure::Error(
                    "a load thread ended without a result".into(),
                ))
            }
        }
    }
    line.clear();
    total.ok_or_else(|| Failure::Error("no load thread ran".into()))
}

/// Prints the report and decides the exit status.
fn finish(options: &LoadArgs, addr: SocketAddr, total: &Tally) -> Result<(), Failure> {
    if let (0, Some(why)) = (total.connected, &total.first_error) {
        return Err(Failure::Error(format!("cannot connect to {addr}: {why}")));
    }
    let text = if options.json {
        report::json(options, addr, total)
    } else {
        report::table(options, addr, total)
    };
    print!("{text}");
    let errors = &total.errors;
    // A message unanswered a second after it was sent is as good as lost.
    if errors.mismatch > 0 || errors.lost > 0 || errors.timeout > 0 {
        return Err(Failure::Error(format!(
            "{addr}: {} mismatched, {} lost and {} unanswered messages",
            errors.mismatch, errors.lost, errors.timeout
        )));
    }
    if total.ops == 0 {
        // A server that accepts and never answers must not pass.
        return Err(Failure::Error(format!(
            "{addr}: nothing was answered ({} connections answered at all)",
            total.connected
        )));
    }
    Ok(())
}

/// One loop: the generator for `plan`, run until its end timer.
fn run_loop<G: Generator>(plan: Plan, tally: Tally) -> Result<Tally, Failure> {
    let config = Config {
        // A generator reads everything it is sent; its own queue is bounded
        // by what it chooses to send, never by a peer.
        max_outbuf: 64 * 1024 * 1024,
        ..Config::default()
    };
    let mut reactor = Reactor::new(config, G::new(plan, tally))
        .map_err(|e| format!("cannot start the event loop: {e}"))?;
    let (generator, io) = reactor.parts();
    generator.start(io);
    reactor
        .run()
        .map_err(|e| format!("event loop failed: {e}"))?;
    Ok(reactor.into_protocol().finish(Instant::now()))
}
