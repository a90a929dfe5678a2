//! What every command needs of the process it runs in, one floor below
//! `server`, `client` and `load` (which therefore never import each
//! other): an address resolved, the descriptor limit raised, the
//! readiness line, and the error that becomes the exit status.

use std::fmt;
use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};

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
