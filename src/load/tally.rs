//! What one loop of the load generator is asked to do ([`Plan`]) and what
//! it counted ([`Tally`]); the tallies of all loops merge into the report.
//!
//! Times are read from the clock (`Instant::now`) at each send and each
//! completion, not taken from `Io::now`: the loop's time is shared by a
//! whole turn, and one turn can read a megabyte and see several round
//! trips, which would all measure as zero.
//!
//! Latency goes into an HdrHistogram: it keeps every value from 1 µs to an
//! hour to 3 significant digits in a few tens of KiB, so p99.9 and max are
//! exact to that precision however many operations there were, and the
//! histograms of several threads add up without losing anything (averaging
//! percentiles would be wrong).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// Largest latency recorded, in µs: an hour. Longer ones are clamped.
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// What one loop does: its share of the connections and the run's clock.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The server.
    pub addr: std::net::SocketAddr,
    /// Numbers of this loop's connections (global, so payloads differ
    /// between loops).
    pub numbers: std::ops::Range<u64>,
    /// Connections that send, over all loops: numbers `0..senders`.
    /// Every connection for the request generators; for the fan-out ones
    /// the `--publishers`. The open-loop schedule spreads their first
    /// sends over one interval.
    pub senders: u64,
    /// Bytes per message.
    pub size: usize,
    /// Messages kept in flight per connection (closed loop).
    pub pipeline: usize,
    /// Open loop: time between two messages of one connection.
    pub interval: Option<Duration>,
    /// When the run started (open-loop schedules count from here).
    pub start: Instant,
    /// Operations completing before this are not counted.
    pub warmup_end: Instant,
    /// When the loop stops.
    pub end: Instant,
}

impl Plan {
    /// When message `seq` of connection `number` is meant to be sent, in
    /// open loop. Connections are offset from each other within one
    /// interval so the load is smooth, not a burst every interval.
    pub fn intended(&self, number: u64, seq: u64) -> Option<Instant> {
        let interval = self.interval?;
        Some(self.first_send(number, interval) + interval.mul_f64(seq as f64))
    }

    /// How many messages of connection `number`, which has sent `sent`,
    /// are due by `now` in open loop (0 in closed loop). Computed, not
    /// counted one by one: after a long stall that is millions.
    pub fn due(&self, number: u64, sent: u64, now: Instant) -> u64 {
        let Some(interval) = self.interval else {
            return 0;
        };
        let Some(elapsed) = now.checked_duration_since(self.first_send(number, interval)) else {
            return 0;
        };
        let due = (elapsed.as_secs_f64() / interval.as_secs_f64()).floor() as u64 + 1;
        due.saturating_sub(sent)
    }

    /// Whether connection `number` sends (for the fan-out generators: is
    /// one of the publishers).
    pub fn sends(&self, number: u64) -> bool {
        number < self.senders
    }

    /// When connection `number` sends its first message: senders are
    /// spread over one interval.
    fn first_send(&self, number: u64, interval: Duration) -> Instant {
        self.start + interval.mul_f64(number as f64 / self.senders.max(1) as f64)
    }
}

/// Errors, by kind.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Errors {
    /// Connections that could not be made (or UDP sends refused).
    pub connect: u64,
    /// Connections closed or reset by the server during the run.
    pub reset: u64,
    /// TCP messages still unanswered a second after they were sent, at
    /// the end of the run.
    pub timeout: u64,
    /// Answers whose bytes differ from what was sent.
    pub mismatch: u64,
    /// Messages sent and never answered (a connection lost with them in
    /// flight, a datagram not back within a second).
    pub lost: u64,
    /// HTTP answers that were not 2xx.
    pub status: u64,
}

impl Errors {
    fn add(&mut self, other: &Errors) {
        self.connect += other.connect;
        self.reset += other.reset;
        self.timeout += other.timeout;
        self.mismatch += other.mismatch;
        self.lost += other.lost;
        self.status += other.status;
    }

    /// All errors.
    pub fn total(&self) -> u64 {
        self.connect + self.reset + self.timeout + self.mismatch + self.lost + self.status
    }
}

/// What one loop counted.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Latency of each counted operation, in µs.
    pub latency: Histogram<u64>,
    /// Operations completed after the warm-up.
    pub ops: u64,
    /// Payload bytes those operations carried back.
    pub bytes: u64,
    /// Connections that were made (UDP: sockets that got a reply).
    pub connected: u64,
    /// Errors.
    pub errors: Errors,
    /// The first connect error, for the `error:` line when nothing connected.
    pub first_error: Option<String>,
    /// Counted operations, shared with the progress line.
    pub progress: Arc<AtomicU64>,
}

impl Tally {
    /// An empty tally reporting progress through `progress`.
    pub fn new(progress: Arc<AtomicU64>) -> Tally {
        Tally {
            // Bounds and precision are constants known to be valid.
            latency: Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
                .unwrap_or_else(|_| unreachable!("valid histogram bounds")),
            ops: 0,
            bytes: 0,
            connected: 0,
            errors: Errors::default(),
            first_error: None,
            progress,
        }
    }

    /// An operation that began (was meant to begin) at `began` finished
    /// `now`, carrying `bytes`. Counted only once the warm-up is over.
    pub fn complete(&mut self, plan: &Plan, now: Instant, began: Instant, bytes: usize) {
        if now < plan.warmup_end {
            return;
        }
        let micros = now.saturating_duration_since(began).as_micros();
        let micros = u64::try_from(micros).unwrap_or(u64::MAX).max(1);
        self.latency.saturating_record(micros.min(MAX_LATENCY_US));
        self.ops += 1;
        self.bytes += bytes as u64;
        self.progress.fetch_add(1, Ordering::Relaxed);
    }

    /// A connect failed.
    pub fn connect_failed(&mut self, error: &dyn std::fmt::Display) {
        self.errors.connect += 1;
        if self.first_error.is_none() {
            self.first_error = Some(error.to_string());
        }
    }

    /// Adds another loop's tally to this one.
    pub fn merge(&mut self, other: &Tally) {
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
        self.ops += other.ops;
        self.bytes += other.bytes;
        self.connected += other.connected;
        self.errors.add(&other.errors);
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
    }
}
