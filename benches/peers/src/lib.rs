//! The peers `reactor` is measured against, and the tools the comparison
//! needs: benchmarks only, never part of the product.
//!
//! Every server here is written the way its community writes it first,
//! with nothing tuned that the textbook version would not have, because
//! the question a reader asks is "what would I get if I wrote this with X
//! instead". Each one takes `--bind ADDR` (port 0 picks a free port),
//! prints one readiness line `listening on tcp://HOST:PORT` (or `http://`,
//! `udp://`) on stdout, flushed, and serves until SIGTERM or SIGINT, so one
//! script can start any of them the same way. Every TCP server sets
//! `TCP_NODELAY` on its connections, as `reactor` does: a small reply goes
//! out at once instead of waiting on Nagle's algorithm for the peer's ACK.
//!
//! What lives here besides the servers:
//! - [`fanout`]: a verifying open-loop pub/sub driver that speaks both
//!   `reactor chat` lines and Redis' RESP, so the two can be compared;
//! - [`table`] and [`wrk`]: the one table `benches/compare.sh` prints,
//!   computed from the raw records of a run.

pub mod args;
pub mod fanout;
pub mod table;
pub mod wrk;

use std::io::Write;
use std::net::SocketAddr;

/// Prints the readiness line scripts wait for, and flushes it: the only
/// thing a server here writes on stdout.
pub fn announce(scheme: &str, addr: SocketAddr) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {scheme}://{addr}")?;
    stdout.flush()
}
