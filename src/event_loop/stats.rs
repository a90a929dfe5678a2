//! Counters: what the loop has done, for `--stats-interval`, the shutdown
//! summary and HTTP's `GET /stats`.
//!
//! Plain integers, no atomics: the loop is single-threaded, and a counter
//! that is only ever touched by one thread needs no synchronisation. With
//! one loop per core, each loop also copies its counters into its own slot
//! of a [`StatsBoard`] once per turn, where the others (a stats line, HTTP's
//! `/stats`) read them: one writer per slot, each slot on its own cache
//! line, so the loops never contend.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

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
    /// Of those, bytes read and dropped unseen because their connection
    /// was closing (what a close reads so the peer gets no reset).
    pub discarded: u64,
    /// Bytes written to peers.
    pub bytes_out: u64,
    /// Requests the protocol answered (HTTP), as it counts them
    /// (`Io::count_requests`).
    pub requests: u64,
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
        if self.requests > 0 {
            write!(f, " requests={}", self.requests)?;
        }
        if self.discarded > 0 {
            write!(f, " discarded={}", self.discarded)?;
        }
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

/// How many counters a board slot holds.
const COUNTERS: usize = 13;

/// One loop's counters, readable from other threads. Aligned to a cache
/// line so two loops' slots never share one.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Slot([AtomicU64; COUNTERS]);

/// The counters of every loop of a server, one slot each.
#[derive(Debug)]
pub struct StatsBoard {
    slots: Vec<Slot>,
}

impl StatsBoard {
    /// A board for `loops` loops.
    pub fn new(loops: usize) -> StatsBoard {
        StatsBoard {
            slots: (0..loops.max(1)).map(|_| Slot::default()).collect(),
        }
    }

    /// How many loops it has slots for.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether it has no slots (never: a board has at least one).
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Loop `n` publishes its counters (relaxed stores: a reader may see
    /// one turn's counters mixed with the next one's, which a stats line
    /// does not mind).
    pub fn publish(&self, n: usize, stats: &Stats) {
        if let Some(slot) = self.slots.get(n) {
            for (cell, value) in slot.0.iter().zip(stats.to_array()) {
                cell.store(value, Ordering::Relaxed);
            }
        }
    }

    /// Loop `n`'s counters, as last published.
    pub fn get(&self, n: usize) -> Stats {
        let mut values = [0; COUNTERS];
        if let Some(slot) = self.slots.get(n) {
            for (value, cell) in values.iter_mut().zip(&slot.0) {
                *value = cell.load(Ordering::Relaxed);
            }
        }
        Stats::from_array(values)
    }

    /// Every loop's counters added up.
    pub fn total(&self) -> Stats {
        (0..self.slots.len()).fold(Stats::default(), |sum, n| sum.plus(&self.get(n)))
    }
}

impl Stats {
    fn to_array(self) -> [u64; COUNTERS] {
        [
            self.accepted,
            self.open,
            self.refused,
            self.bytes_in,
            self.bytes_out,
            self.turns,
            self.events,
            self.datagrams_in,
            self.datagrams_out,
            self.dropped,
            self.discarded,
            // "Not reported" travels as the one value no counter reaches.
            self.kernel_dropped.unwrap_or(u64::MAX),
            self.requests,
        ]
    }

    fn from_array(v: [u64; COUNTERS]) -> Stats {
        Stats {
            accepted: v[0],
            open: v[1],
            refused: v[2],
            bytes_in: v[3],
            bytes_out: v[4],
            turns: v[5],
            events: v[6],
            datagrams_in: v[7],
            datagrams_out: v[8],
            dropped: v[9],
            discarded: v[10],
            kernel_dropped: (v[11] != u64::MAX).then_some(v[11]),
            requests: v[12],
        }
    }

    /// These counters and `other`'s added up.
    pub fn plus(self, other: &Stats) -> Stats {
        let (a, b) = (self.to_array(), other.to_array());
        let mut sum = Stats::from_array(std::array::from_fn(|i| a[i].wrapping_add(b[i])));
        sum.kernel_dropped = match (self.kernel_dropped, other.kernel_dropped) {
            (None, None) => None,
            (x, y) => Some(x.unwrap_or(0) + y.unwrap_or(0)),
        };
        sum
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
    fn a_board_adds_up_its_loops() {
        let board = StatsBoard::new(2);
        let one = Stats {
            accepted: 3,
            bytes_in: 10,
            ..Stats::default()
        };
        board.publish(0, &one);
        board.publish(1, &one);
        assert_eq!(board.get(1), one);
        assert_eq!(board.total().accepted, 6);
        assert_eq!(board.total().bytes_in, 20);
        assert_eq!(std::mem::align_of::<Slot>(), 128);
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
