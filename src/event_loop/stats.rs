//! Counters: what the loop has done, for `--stats-interval`, the shutdown
//! summary and HTTP's `GET /stats`.
//!
//! Plain integers, no atomics: the loop is single-threaded, and a counter
//! that is only ever touched by one thread needs no synchronisation.

use std::fmt;

/// The loop's counters since it started.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Connections accepted (including those refused by `--max-conns`).
    pub accepted: u64,
    /// Connections open right now.
    pub open: u64,
    /// Connections closed at once because `--max-conns` were open.
    pub refused: u64,
    /// Bytes read from peers.
    pub bytes_in: u64,
    /// Bytes written to peers.
    pub bytes_out: u64,
    /// Loop turns (calls to `poll`).
    pub turns: u64,
    /// Readiness events handled.
    pub events: u64,
    /// Datagrams received (UDP).
    pub datagrams_in: u64,
    /// Datagrams sent (UDP).
    pub datagrams_out: u64,
    /// Replies dropped because the bounded reply queue was full (UDP).
    pub dropped: u64,
    /// Datagrams the kernel dropped because the socket's receive buffer
    /// was full (UDP), as it last reported; `None` where the platform does
    /// not report it.
    pub kernel_dropped: Option<u64>,
}

impl fmt::Display for Stats {
    /// The `--stats-interval` line: `accepted=12 open=3 bytes_in=4096 ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "accepted={} open={} refused={} bytes_in={} bytes_out={} turns={} events={}",
            self.accepted,
            self.open,
            self.refused,
            self.bytes_in,
            self.bytes_out,
            self.turns,
            self.events
        )?;
        if self.datagrams_in > 0 || self.dropped > 0 || self.kernel_dropped.is_some() {
            write!(
                f,
                " datagrams_in={} datagrams_out={} dropped={}",
                self.datagrams_in, self.datagrams_out, self.dropped
            )?;
            match self.kernel_dropped {
                Some(n) => write!(f, " kernel_dropped={n}")?,
                None => write!(f, " kernel_dropped=not-reported")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stats_line_names_every_tcp_counter() {
        let stats = Stats {
            accepted: 12,
            open: 3,
            bytes_in: 4096,
            bytes_out: 4096,
            turns: 80,
            ..Stats::default()
        };
        assert_eq!(
            stats.to_string(),
            "accepted=12 open=3 refused=0 bytes_in=4096 bytes_out=4096 turns=80 events=0"
        );
    }

    #[test]
    fn a_udp_line_says_what_the_kernel_dropped_or_that_it_does_not_say() {
        let udp = Stats {
            datagrams_in: 5,
            datagrams_out: 5,
            kernel_dropped: Some(2),
            ..Stats::default()
        };
        assert!(udp
            .to_string()
            .ends_with(" datagrams_in=5 datagrams_out=5 dropped=0 kernel_dropped=2"));
        let unreported = Stats {
            kernel_dropped: None,
            ..udp
        };
        assert!(unreported
            .to_string()
            .ends_with(" kernel_dropped=not-reported"));
    }
}
