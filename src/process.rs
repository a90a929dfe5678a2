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

/// The parser for options in bytes that must be at least 1. Its range is
/// written out to the top, `1..=18446744073709551615`, so the error for
/// `0` states exactly the range that is accepted (clap prints an open
/// range `1..` as `1..18446744073709551615`, which reads as if the top
/// were refused).
pub fn bytes_at_least_one() -> clap::builder::RangedU64ValueParser {
    clap::value_parser!(u64).range(1..=u64::MAX)
}

/// Parses an address to listen on, `IP:PORT`, and refuses an IPv6 zone
/// (`%eth0`, `%2`) where it means nothing. A zone names the interface a
/// link-local address (`fe80::/10`) belongs to; on any other address the
/// kernel ignores it, so `[::1%999]:0` would bind `[::1]:0` and the typo
/// would pass unseen.
pub fn socket_addr(text: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = text
        .parse()
        .map_err(|_| "expected IP:PORT, e.g. 127.0.0.1:7000 or [::1]:7000".to_string())?;
    check_zone(addr)?;
    Ok(addr)
}

/// A zone (scope id) is allowed on a link-local IPv6 address only.
fn check_zone(addr: SocketAddr) -> Result<(), String> {
    let SocketAddr::V6(v6) = addr else {
        return Ok(());
    };
    let link_local = (v6.ip().segments()[0] & 0xffc0) == 0xfe80;
    if v6.scope_id() != 0 && !link_local {
        return Err(format!(
            "the zone %{} is only for a link-local address (fe80::/10), and {} is not one; \
             drop the %{}",
            v6.scope_id(),
            v6.ip(),
            v6.scope_id()
        ));
    }
    Ok(())
}

/// Checks that `text` has the shape `HOST:PORT` with a valid port. The name
/// is resolved later, when the command starts: a name that does not
/// resolve is a runtime error (exit 1), not a usage error.
pub fn host_and_port(text: &str) -> Result<String, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        check_zone(addr)?;
        return Ok(text.to_string());
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
            Ok(text.to_string())
        }
        _ => Err("expected HOST:PORT, e.g. 127.0.0.1:7000 or localhost:7001".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zone_is_refused_except_on_a_link_local_address() {
        assert!(socket_addr("[::1%999]:0").is_err());
        assert!(socket_addr("[2001:db8::1%1]:80").is_err());
        assert!(host_and_port("[::1%3]:7000").is_err());
        assert_eq!(
            socket_addr("[fe80::1%2]:0").map(|a| a.to_string()),
            Ok("[fe80::1%2]:0".to_string())
        );
        assert!(socket_addr("[::1]:0").is_ok());
        assert!(socket_addr("127.0.0.1:7000").is_ok());
        assert!(socket_addr("nowhere").is_err());
    }
}
