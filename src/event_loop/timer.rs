//! Timers: deadlines kept in order, the earliest of which bounds how long
//! `poll` may sleep.
//!
//! This is the "time events" half of Redis's `ae.c` and the timer map of
//! `async-io`: a `BTreeMap` keyed by `(deadline, sequence number)`. The
//! sequence number makes keys unique (two timers may share a deadline) and
//! keeps equal deadlines in the order they were set. Removal is a map removal,
//! so a closed connection's timer goes away with it instead of lingering until
//! it would have fired; the map holds only live timers.
//!
//! The module knows nothing about what a timer means: it stores a value of
//! the caller's type `K` and hands it back when due. Time is passed in, never
//! read here, so tests drive it with made-up instants.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use reactor::event_loop::Timers;
//!
//! let start = Instant::now();
//! let mut timers = Timers::default();
//! timers.add(start + Duration::from_secs(30), "idle timeout");
//! let header = timers.add(start + Duration::from_secs(10), "header timeout");
//! timers.add(start + Duration::from_millis(2500), "linger");
//!
//! // The earliest deadline bounds how long `poll` may sleep.
//! assert_eq!(timers.poll_timeout(start), Some(Duration::from_millis(2500)));
//! // A request head that ended in time cancels its timer.
//! timers.cancel(header);
//! // After `poll`, the loop takes what is due, earliest first.
//! let later = start + Duration::from_secs(31);
//! assert_eq!(timers.pop_due(later), Some("linger"));
//! assert_eq!(timers.pop_due(later), Some("idle timeout"));
//! assert_eq!(timers.pop_due(later), None);
//! ```

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Names one armed timer, so its owner can cancel it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId {
    deadline: Instant,
    sequence: u64,
}

/// Deadlines in order, each with what to do when it passes.
#[derive(Debug)]
pub struct Timers<K> {
    armed: BTreeMap<TimerId, K>,
    next_sequence: u64,
}

impl<K> Default for Timers<K> {
    fn default() -> Self {
        Timers {
            armed: BTreeMap::new(),
            next_sequence: 0,
        }
    }
}

impl TimerId {
    /// When the timer is due.
    pub fn deadline(self) -> Instant {
        self.deadline
    }
}

impl<K> Timers<K> {
    /// Arms a timer that becomes due at `deadline`.
    pub fn add(&mut self, deadline: Instant, what: K) -> TimerId {
        let id = TimerId {
            deadline,
            sequence: self.next_sequence,
        };
        self.next_sequence += 1;
        self.armed.insert(id, what);
        id
    }

    /// Disarms a timer; a timer that already fired is ignored.
    pub fn cancel(&mut self, id: TimerId) -> Option<K> {
        self.armed.remove(&id)
    }

    /// How long `poll` may sleep before the earliest timer is due: `None`
    /// when no timer is armed (sleep until an I/O event), zero when one is
    /// already overdue.
    pub fn poll_timeout(&self, now: Instant) -> Option<Duration> {
        let (first, _) = self.armed.first_key_value()?;
        // Round up to the next millisecond: epoll's timeout is in whole
        // milliseconds and mio truncates, so without this a timer 0.4 ms away
        // would make `poll` return at once, over and over, until it is due.
        let wait = first.deadline.saturating_duration_since(now);
        let millis = wait.as_micros().div_ceil(1000);
        Some(Duration::from_millis(millis as u64))
    }

    /// Removes and returns the earliest timer due at or before `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<K> {
        let entry = self.armed.first_entry()?;
        if entry.key().deadline > now {
            return None;
        }
        Some(entry.remove())
    }

    /// How many timers are armed.
    pub fn len(&self) -> usize {
        self.armed.len()
    }

    /// True when no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.armed.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_in_deadline_order_and_only_when_due() {
        let start = Instant::now();
        let mut timers = Timers::default();
        timers.add(start + Duration::from_secs(3), "c");
        timers.add(start + Duration::from_secs(1), "a");
        timers.add(start + Duration::from_secs(2), "b");

        assert_eq!(timers.pop_due(start), None);
        let later = start + Duration::from_millis(2500);
        assert_eq!(timers.pop_due(later), Some("a"));
        assert_eq!(timers.pop_due(later), Some("b"));
        assert_eq!(timers.pop_due(later), None);
        assert_eq!(timers.len(), 1);
    }

    #[test]
    fn equal_deadlines_fire_in_the_order_they_were_set() {
        let at = Instant::now();
        let mut timers = Timers::default();
        for i in 0..5 {
            timers.add(at, i);
        }
        let fired: Vec<_> = std::iter::from_fn(|| timers.pop_due(at)).collect();
        assert_eq!(fired, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn cancelled_timers_never_fire() {
        let start = Instant::now();
        let mut timers = Timers::default();
        let keep = timers.add(start + Duration::from_secs(1), "keep");
        let drop = timers.add(start + Duration::from_secs(1), "drop");
        assert_eq!(timers.cancel(drop), Some("drop"));
        assert_eq!(timers.cancel(drop), None);
        assert_eq!(timers.pop_due(start + Duration::from_secs(5)), Some("keep"));
        assert!(timers.is_empty());
        let _ = keep;
    }

    #[test]
    fn poll_timeout_follows_the_earliest_deadline() {
        let start = Instant::now();
        let mut timers = Timers::default();
        assert_eq!(timers.poll_timeout(start), None);
        timers.add(start + Duration::from_millis(1500), ());
        timers.add(start + Duration::from_millis(200), ());
        assert_eq!(timers.poll_timeout(start), Some(Duration::from_millis(200)));
        // Never negative, and rounded up so poll does not wake early.
        assert_eq!(
            timers.poll_timeout(start + Duration::from_secs(9)),
            Some(Duration::ZERO)
        );
        let almost = start + Duration::from_micros(199_600);
        assert_eq!(timers.poll_timeout(almost), Some(Duration::from_millis(1)));
    }
}
