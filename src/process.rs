//! What every command needs of the process it runs in, one floor below
//! `server`, `client` and `load` (which therefore never import each
//! other): an address resolved, the descriptor limit raised, the
//! readiness line, the error that becomes the exit status, and the option
//! values every command parses the same way.

use std::fmt;
use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use log::{debug, warn};

/// Why a command did not end well; `main` turns it into the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A runtime error: printed as one `error:` line, exit status 1.
    Error(String),
    /// A second SIGINT/SIGTERM ended the run without flushing: exit status
    /// 128 + the signal's number, as a shell reports a death by signal.
    Signal(i32),
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::Error(message)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Error(message) => f.write_str(message),
            Failure::Signal(signal) => write!(f, "stopped by a second signal ({signal})"),
        }
    }
}

/// The first address `HOST:PORT` names: a literal address, or a name such
/// as `localhost` looked up once, before the loop starts (a lookup blocks,
/// so it has no place inside a turn).
pub fn resolve(addr: &str) -> Result<SocketAddr, Failure> {
    addr.to_socket_addrs()
        .map_err(|e| format!("cannot resolve {addr}: {e}"))?
        .next()
        .ok_or_else(|| Failure::Error(format!("cannot resolve {addr}: no address")))
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

/// Prints the readiness line scripts wait for (`listening on
/// tcp://127.0.0.1:7000`), and flushes it: the one line a server writes
/// to stdout.
pub fn announce(scheme: &str, addr: SocketAddr) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {scheme}://{addr}")
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure::Error(format!("cannot write the readiness line to stdout: {e}")))
}

/// The longest time any option takes, in seconds: about 31 years. Clocks
/// cannot count much further ahead (an `Instant` plus 2^64 seconds
/// overflows), and no timeout needs to.
pub const MAX_SECONDS: u64 = 1_000_000_000;

/// The parser for options in seconds: 0 to [`MAX_SECONDS`].
pub fn seconds() -> clap::builder::RangedU64ValueParser {
    clap::value_parser!(u64).range(0..=MAX_SECONDS)
}

/// An option in seconds where 0 means "off".
pub fn seconds_or_off(secs: u64) -> Option<Duration> {
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// Checks that `text` has the shape `HOST:PORT` with a valid port. The name
/// is resolved later, when the command starts: a name that does not
/// resolve is a runtime error (exit 1), not a usage error.
pub fn host_and_port(text: &str) -> Result<String, String> {
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
