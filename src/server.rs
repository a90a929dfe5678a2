//! Wiring a server: raise the descriptor limit, bind, print the readiness
//! line, hand signals to the loop, run. Nothing here is protocol-specific.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Instant;

use log::{debug, info, warn};

use crate::event_loop::{Config, Handle, Protocol, Reactor};
use crate::proto::udp_echo::UdpEcho;

/// A failure to report as one `error:` line and exit status 1.
pub type Failure = String;

/// Runs `protocol` on a loop listening on `bind` until SIGINT/SIGTERM.
/// `scheme` is what the readiness line calls it (`tcp`, `http`).
pub fn serve<P: Protocol>(
    name: &str,
    scheme: &str,
    bind: SocketAddr,
    config: Config,
    protocol: P,
) -> Result<(), Failure> {
    raise_fd_limit();
    let mut reactor =
        Reactor::new(config, protocol).map_err(|e| format!("cannot start the event loop: {e}"))?;
    let addr = reactor
        .listen(bind)
        .map_err(|e| format!("cannot bind {bind}: {e}"))?;
    announce(scheme, addr)?;
    info!("{name} server listening on {addr}");
    handle_signals(reactor.handle())?;
    run_to_the_end(&mut reactor, addr)
}

/// Runs the loop until graceful shutdown completes, then logs the one
/// summary line of SPEC 7: the run's totals.
fn run_to_the_end<P: Protocol>(reactor: &mut Reactor<P>, addr: SocketAddr) -> Result<(), Failure> {
    let started = Instant::now();
    reactor
        .run()
        .map_err(|e| format!("event loop failed on {addr}: {e}"))?;
    info!(
        "stopped after {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        reactor.stats()
    );
    Ok(())
}

/// Runs the UDP echo server on `bind` until SIGINT/SIGTERM.
pub fn serve_udp_echo(bind: SocketAddr, config: Config) -> Result<(), Failure> {
    let echo =
        UdpEcho::bind(bind, config.max_outbuf).map_err(|e| format!("cannot bind {bind}: {e}"))?;
    let addr = echo
        .local_addr()
        .map_err(|e| format!("cannot read the address of {bind}: {e}"))?;
    let mut reactor =
        Reactor::new(config, echo).map_err(|e| format!("cannot start the event loop: {e}"))?;
    let (echo, io) = reactor.parts();
    echo.register(io)
        .map_err(|e| format!("cannot watch {addr}: {e}"))?;
    announce("udp", addr)?;
    info!("udp-echo server listening on {addr}");
    handle_signals(reactor.handle())?;
    run_to_the_end(&mut reactor, addr)
}

/// Prints the readiness line scripts wait for, and flushes it.
pub fn announce(scheme: &str, addr: SocketAddr) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {scheme}://{addr}")
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write the readiness line to stdout: {e}"))
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit, as Redis and nginx
/// do: the default soft limit (often 1024) caps a server far below what the
/// machine allows.
pub fn raise_fd_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => debug!("file descriptor limit: {limit}"),
        Err(e) => warn!("cannot raise the file descriptor limit: {e}"),
    }
}

/// SIGINT and SIGTERM ask the loop to shut down gracefully; a second one
/// exits at once.
///
/// The signal is caught on a small thread (signal-hook's iterator), which
/// wakes the loop through its waker: a signal handler itself may do
/// almost nothing safely, and the loop must learn of the signal while it
/// sleeps in `poll`.
pub fn handle_signals(loop_handle: Handle) -> Result<(), Failure> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
        .map_err(|e| format!("cannot install signal handlers: {e}"))?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if loop_handle.shutdown() > 0 {
                    warn!("second signal: exiting at once");
                    std::process::exit(128 + signal);
                }
            }
        })
        .map_err(|e| format!("cannot start the signal thread: {e}"))?;
    Ok(())
}
