//! Wiring a server: raise the descriptor limit, bind, catch signals, print
//! the readiness line, run, log the summary. Nothing here is
//! protocol-specific: `main.rs` hands in the protocol.

use std::net::SocketAddr;
use std::time::Instant;

use log::info;

use crate::event_loop::{Config, Protocol, Reactor};
use crate::process::{announce, raise_fd_limit, Failure};

/// Runs `protocol` on a loop listening on `bind` until SIGINT/SIGTERM.
/// `scheme` is what the readiness line calls it (`tcp`, `http`).
pub fn serve<P: Protocol>(
    name: &str,
    scheme: &str,
    bind: SocketAddr,
    config: Config,
    protocol: P,
) -> Result<(), Failure> {
    let mut reactor = start(config, protocol)?;
    let addr = reactor
        .listen(bind)
        .map_err(|e| format!("cannot bind {bind}: {e}"))?;
    run_announced(&mut reactor, name, scheme, addr)
}

/// A loop for `protocol`, with the descriptor limit raised: for a server
/// whose protocol owns its socket (UDP), to wire before
/// [`run_announced`].
pub fn start<P: Protocol>(config: Config, protocol: P) -> Result<Reactor<P>, Failure> {
    raise_fd_limit();
    Reactor::new(config, protocol)
        .map_err(|e| Failure::Error(format!("cannot start the event loop: {e}")))
}

/// Catches signals, prints the readiness line for `addr`, and runs the
/// loop until graceful shutdown completes; then logs the one summary line
/// with the run's totals.
pub fn run_announced<P: Protocol>(
    reactor: &mut Reactor<P>,
    name: &str,
    scheme: &str,
    addr: SocketAddr,
) -> Result<(), Failure> {
    // Before the readiness line: a signal sent the moment it appears must
    // find the handlers in place.
    reactor
        .stop_on_signals()
        .map_err(|e| format!("cannot install signal handlers: {e}"))?;
    announce(scheme, addr)?;
    info!("{name} server listening on {addr}");
    let started = Instant::now();
    reactor
        .run()
        .map_err(|e| format!("event loop failed on {addr}: {e}"))?;
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
