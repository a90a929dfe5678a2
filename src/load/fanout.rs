//! What the fan-out generators share (`chat.rs` over the line protocol,
//! and a Socket.IO one to come): the message a publisher sends, and how a
//! member checks and counts what it receives.
//!
//! A fan-out message has no reply to its sender, so these generators run
//! open loop only. Publisher `n` (one of the first `--publishers` members)
//! sends `load <n> <seq> <nanos>`, where `nanos` is the message's intended
//! send time since the run started (all loops share that start). Each
//! delivery at another member is one operation, its latency measured from
//! that intended time: fan-out latency, read off the message itself, so
//! nothing sent needs to be remembered.
//!
//! A member keeps, per publisher, the next sequence number it expects
//! ([`Order`]); the server keeps each sender's order, so a gap is counted
//! lost, and a number that goes back is a mismatch (duplicated, reordered
//! or forged). The first message a member hears from a publisher sets
//! where it starts: a member that joined late owes nothing for what was
//! said before. What a member keeps is bounded by the publishers: a
//! publisher number no publisher has is a mismatch, not a new entry.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use super::tally::{Plan, Tally};

/// Bytes a publisher may have queued and not yet sent: beyond this it
/// sends nothing more until the queue drains, and the messages due
/// meanwhile are late (their latency counts from when they were due), not
/// buffered without limit. A few thousand messages: far more than a
/// server that keeps up ever leaves in a queue.
pub const MAX_QUEUED: usize = 256 * 1024;

/// Appends message `seq` of publisher `number`, meant to leave at
/// `intended`, to `out` (without a line end).
pub fn write_message(out: &mut String, plan: &Plan, number: u64, seq: u64, intended: Instant) {
    let nanos = intended.saturating_duration_since(plan.start).as_nanos();
    let _ = write!(out, "load {number} {seq} {nanos}");
}

/// A `load <publisher> <seq> <nanos>` message, read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message {
    /// Who published it.
    pub publisher: u64,
    /// Its sequence number at that publisher.
    pub seq: u64,
    /// When it was meant to leave, in nanoseconds since the run started.
    pub nanos: u64,
}

/// Reads a message; `None` if `text` is not one.
pub fn parse_message(text: &str) -> Option<Message> {
    let mut words = text.strip_prefix("load ")?.split(' ');
    let mut next = || words.next()?.parse().ok();
    let message = Message {
        publisher: next()?,
        seq: next()?,
        nanos: next()?,
    };
    words.next().is_none().then_some(message)
}

/// One member's view of the publishers it hears.
#[derive(Debug, Default)]
pub struct Order {
    /// Next sequence number expected from each publisher heard.
    expected: HashMap<u64, u64>,
    /// Deliveries received in order (counted or not: the warm-up's too).
    delivered: u64,
}

impl Order {
    /// Deliveries received so far.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// One delivery of `text`, which arrived `now` in `bytes` bytes on
    /// the wire: checked against the order, counted in `tally`.
    pub fn receive(
        &mut self,
        text: &str,
        bytes: usize,
        now: Instant,
        plan: &Plan,
        tally: &mut Tally,
    ) {
        let Some(message) = parse_message(text).filter(|m| plan.sends(m.publisher)) else {
            tally.errors.mismatch += 1; // not a message any publisher sent
            return;
        };
        let expected = self
            .expected
            .entry(message.publisher)
            .or_insert(message.seq);
        // A sequence number that cannot be followed is not one we sent.
        let (Some(next), true) = (message.seq.checked_add(1), message.seq >= *expected) else {
            tally.errors.mismatch += 1; // duplicated, reordered or forged
            return;
        };
        tally.errors.lost += message.seq - *expected;
        *expected = next;
        self.delivered += 1;
        let intended = plan.start + Duration::from_nanos(message.nanos);
        tally.complete(plan, now, intended, bytes);
    }
}

/// Members that joined and heard nothing while the others published lost
/// at least one delivery each: counted in `tally`. Each member is
/// `(joined, messages it published, deliveries it received)`; a member
/// hears only the *others*, so a lone publisher hearing nothing is fine.
/// Only this loop's publishers are known here: with `--threads`, a loop
/// without publishers counts no deaf member (the report's zero
/// deliveries still fails a server that relays nothing).
pub fn count_deaf(members: &[(bool, u64, u64)], tally: &mut Tally) {
    let published: u64 = members.iter().map(|&(_, sent, _)| sent).sum();
    let deaf = members
        .iter()
        .filter(|&&(joined, sent, delivered)| joined && delivered == 0 && published > sent);
    tally.errors.lost += deaf.count() as u64;
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;
    use std::sync::Arc;

    use super::*;

    fn plan(senders: u64) -> Plan {
        let start = Instant::now();
        Plan {
            addr: ([127, 0, 0, 1], 1).into(),
            numbers: 0..4,
            senders,
            size: 64,
            pipeline: 1,
            interval: Some(Duration::from_millis(10)),
            start,
            warmup_end: start,
            end: start + Duration::from_secs(1),
        }
    }

    fn tally() -> Tally {
        Tally::new(Arc::new(AtomicU64::new(0)))
    }

    #[test]
    fn a_message_reads_back_as_written() {
        let plan = plan(4);
        let mut text = String::new();
        write_message(
            &mut text,
            &plan,
            3,
            42,
            plan.start + Duration::from_micros(5),
        );
        assert_eq!(text, "load 3 42 5000");
        let read = parse_message(&text);
        assert_eq!(
            read,
            Some(Message {
                publisher: 3,
                seq: 42,
                nanos: 5000
            })
        );
        assert_eq!(parse_message("load 3 42"), None);
        assert_eq!(parse_message("load 3 42 5000 extra"), None);
        assert_eq!(parse_message("hello"), None);
    }

    #[test]
    fn gaps_are_lost_and_going_back_is_a_mismatch() {
        let plan = plan(2);
        let mut tally = tally();
        let mut order = Order::default();
        let now = plan.start + Duration::from_millis(1);
        for text in ["load 1 5 0", "load 1 6 0", "load 1 9 0", "load 0 0 0"] {
            order.receive(text, 10, now, &plan, &mut tally);
        }
        assert_eq!((order.delivered(), tally.ops), (4, 4));
        assert_eq!(tally.errors.lost, 2, "7 and 8 of publisher 1");
        order.receive("load 1 9 0", 10, now, &plan, &mut tally);
        order.receive("load 1 3 0", 10, now, &plan, &mut tally);
        order.receive("load 2 0 0", 10, now, &plan, &mut tally);
        assert_eq!(
            tally.errors.mismatch, 3,
            "a duplicate, a step back, a non-publisher"
        );
        assert_eq!(order.delivered(), 4);
    }

    #[test]
    fn a_deaf_member_is_one_lost_unless_only_it_published() {
        let mut tally = self::tally();
        // A lone publisher that hears nothing, and a member who was never
        // welcomed: neither is deaf.
        count_deaf(&[(true, 10, 0), (false, 0, 0)], &mut tally);
        assert_eq!(tally.errors.lost, 0);
        count_deaf(&[(true, 10, 0), (true, 5, 0), (true, 0, 10)], &mut tally);
        assert_eq!(tally.errors.lost, 2, "two heard nothing from the others");
    }
}
