//! What makes the fan-out driver a verifier and not only a stopwatch: every
//! payload names its publisher, its sequence number and the time it was
//! meant to leave, and every subscriber checks each publisher's sequence
//! arrives complete and in order.
//!
//! Latency is counted from the intended send time, not from when the bytes
//! left: if the driver or the server falls behind, the delay is charged to
//! every message it held up (no coordinated omission).

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// Errors by kind; any of them fails the run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Errors {
    /// Connections the server closed or reset during the run.
    pub reset: u64,
    /// Deliveries never received (gaps, and whatever never arrived).
    pub lost: u64,
    /// Corrupt, duplicated or reordered deliveries.
    pub mismatch: u64,
    /// Refusals (`! ...`, `-ERR`), or a PUBLISH that reached the wrong
    /// number of subscribers.
    pub refused: u64,
}

impl Errors {
    pub fn total(&self) -> u64 {
        self.reset + self.lost + self.mismatch + self.refused
    }
}

/// Writes the payload: `PUBLISHER SEQ NANOS ` padded with `x` to `size`
/// bytes (longer if the header itself is longer).
pub fn payload(publisher: usize, seq: u64, nanos: u128, size: usize, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(format!("{publisher} {seq} {nanos} ").as_bytes());
    if out.len() < size {
        out.resize(size, b'x');
    }
}

/// Reads a payload back: publisher, sequence, intended nanoseconds since
/// the start. `None` if any byte is not where [`payload`] put it.
pub fn parse_payload(bytes: &[u8], size: usize) -> Option<(usize, u64, u128)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut words = text.splitn(4, ' ');
    let publisher = words.next()?.parse().ok()?;
    let seq = words.next()?.parse().ok()?;
    let nanos = words.next()?.parse().ok()?;
    let filler = words.next()?;
    let header = text.len() - filler.len();
    let whole = filler.bytes().all(|b| b == b'x') && text.len() == size.max(header);
    whole.then_some((publisher, seq, nanos))
}

/// Deliveries seen by every subscriber, and their latencies.
#[derive(Debug)]
pub struct Tally {
    publishers: usize,
    size: usize,
    /// When publishing began: payload times count from here.
    start: Instant,
    /// Only messages meant to leave in `[start + warm-up, start + warm-up
    /// + duration)` are measured.
    window: (Duration, Duration),
    /// Next sequence number expected, per subscriber and publisher.
    expected: Vec<u64>,
    /// Deliveries of measured messages.
    pub measured: u64,
    pub latency: Histogram<u64>,
    pub errors: Errors,
}

impl Tally {
    /// A tally for `subscribers` x `publishers`, measuring `window`
    /// (warm-up, duration) of the run that [`Tally::begin`] starts.
    pub fn new(
        subscribers: usize,
        publishers: usize,
        size: usize,
        window: (Duration, Duration),
    ) -> Result<Tally, String> {
        // Microseconds, 1 µs to 10 minutes, 3 significant digits.
        let latency = Histogram::new_with_bounds(1, 600_000_000, 3)
            .map_err(|e| format!("cannot make a histogram: {e}"))?;
        Ok(Tally {
            publishers,
            size,
            start: Instant::now(),
            window,
            expected: vec![0; subscribers * publishers],
            measured: 0,
            latency,
            errors: Errors::default(),
        })
    }

    /// Publishing begins now.
    pub fn begin(&mut self, start: Instant) {
        self.start = start;
    }

    /// Subscriber `subscriber` received `bytes` at `now`.
    pub fn delivery(&mut self, subscriber: usize, bytes: &[u8], now: Instant) {
        let Some((publisher, seq, nanos)) = parse_payload(bytes, self.size)
            .filter(|&(publisher, _, _)| publisher < self.publishers)
        else {
            self.errors.mismatch += 1;
            return;
        };
        let Some(expected) = self
            .expected
            .get_mut(subscriber * self.publishers + publisher)
        else {
            self.errors.mismatch += 1;
            return;
        };
        if seq < *expected {
            self.errors.mismatch += 1; // a duplicate, or out of order
            return;
        }
        self.errors.lost += seq - *expected;
        *expected = seq + 1;
        let intended = self.start + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
        let from = self.start + self.window.0;
        if intended >= from && intended < from + self.window.1 {
            self.measured += 1;
            let micros = now.saturating_duration_since(intended).as_micros();
            self.latency
                .saturating_record(u64::try_from(micros).unwrap_or(u64::MAX).max(1));
        }
    }

    /// Whether every subscriber has every message `sent` counts.
    pub fn complete(&self, sent: &[u64]) -> bool {
        self.expected
            .chunks(self.publishers)
            .all(|seen| seen.iter().zip(sent).all(|(got, sent)| got >= sent))
    }

    /// At the end: whatever a subscriber never received is lost.
    pub fn finish(&mut self, sent: &[u64]) {
        for seen in self.expected.chunks(self.publishers) {
            for (got, sent) in seen.iter().zip(sent) {
                self.errors.lost += sent.saturating_sub(*got);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_reads_back_and_a_changed_byte_does_not() {
        let mut out = Vec::new();
        payload(3, 17, 123_456, 64, &mut out);
        assert_eq!(out.len(), 64);
        assert_eq!(parse_payload(&out, 64), Some((3, 17, 123_456)));
        out[40] = b'y';
        assert_eq!(parse_payload(&out, 64), None);
        payload(3, 17, 123_456, 4, &mut out);
        assert_eq!(parse_payload(&out, 4), Some((3, 17, 123_456)));
        assert_eq!(parse_payload(&out[..out.len() - 1], 4), None);
    }

    #[test]
    fn gaps_duplicates_and_missing_tails_are_counted() -> Result<(), String> {
        let start = Instant::now();
        let window = (Duration::ZERO, Duration::from_secs(60));
        let mut tally = Tally::new(2, 1, 32, window)?;
        tally.begin(start);
        let mut bytes = Vec::new();
        for (subscriber, seq) in [(0, 0), (0, 2), (0, 2), (1, 0), (1, 1)] {
            payload(0, seq, 0, 32, &mut bytes);
            tally.delivery(subscriber, &bytes, start);
        }
        assert_eq!(tally.errors.lost, 1); // subscriber 0 never saw 1
        assert_eq!(tally.errors.mismatch, 1); // and saw 2 twice
        assert!(!tally.complete(&[3]));
        tally.finish(&[3]);
        assert_eq!(tally.errors.lost, 2); // subscriber 1 never saw 2
        assert_eq!(tally.measured, 4);
        Ok(())
    }
}
