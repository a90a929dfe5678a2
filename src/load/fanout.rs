//! What the fan-out generators share (`chat.rs` over the line protocol,
//! `socketio/` over Socket.IO): the message a publisher sends, and how a
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
//! What is counted is the messages *published* in the measured time
//! (meant to leave after the warm-up and before the end), each delivery
//! of them wherever it falls: publishing stops at the end of the measured
//! time and the run goes on for [`DRAIN`] more, so every message has a
//! second to arrive. A stall at the end of the run then costs latency,
//! not operations, and the count is exact: with no loss it is the rate
//! times the other members times the duration.
//!
//! A member keeps, per publisher, the next sequence number it expects
//! ([`Order`]); the server keeps each sender's order, so a gap is counted
//! lost, and a number that goes back is a mismatch (duplicated, reordered
//! or forged). The first message a member hears from a publisher sets
//! where it starts: a member that joined late owes nothing for what was
//! said before. What a member keeps is bounded by the publishers: a
//! publisher number no publisher has is a mismatch, not a new entry.
//! When the drain is over, [`audit`] counts what never came: the messages
//! a publisher sent after the last one a member heard (timeouts: not
//! there a second after publishing stopped), and members that heard
//! nothing at all.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use super::tally::{Plan, Tally};
use super::{LoadTimer, TICK_EVERY, TIMEOUT};
use crate::event_loop::Io;

/// How long a fan-out run goes on after publishing stops, so that every
/// message published has this long to reach every member: the same second
/// after which a request counts as unanswered.
pub const DRAIN: Duration = TIMEOUT;

/// Bytes a publisher may have queued and not yet sent: beyond this it
/// sends nothing more until the queue drains, and the messages due
/// meanwhile are late (their latency counts from when they were due), not
/// buffered without limit. A few thousand messages: far more than a
/// server that keeps up ever leaves in a queue.
pub const MAX_QUEUED: usize = 256 * 1024;

/// Arms a fan-out run's timers: the tick, and the end, [`DRAIN`] after
/// publishing stops.
pub fn arm_timers(io: &mut Io<LoadTimer>, plan: &Plan) {
    let end = (plan.end + DRAIN).saturating_duration_since(io.now());
    io.set_timer(end, LoadTimer::End);
    io.set_timer(TICK_EVERY, LoadTimer::Tick);
}

/// When message `seq` of publisher `number` was meant to leave, if that
/// is by `now` and before publishing stops.
pub fn due(plan: &Plan, number: u64, seq: u64, now: Instant) -> Option<Instant> {
    plan.intended(number, seq)
        .filter(|&at| at <= now && at < plan.end)
}

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
#[derive(Debug, Default, Clone)]
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
    /// the wire: checked against the order, and counted in `tally` if it
    /// was published in the measured time.
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
        if (plan.warmup_end..plan.end).contains(&intended) {
            tally.complete(plan, now, intended, bytes);
        }
    }
}

/// One member at the end of the run, or when it left, for the [`audit`]:
/// a member the server dropped still owes what it never received.
#[derive(Debug)]
pub struct Final {
    /// Its number (a publisher's is the number in its messages).
    pub number: u64,
    /// Whether it joined the room.
    pub joined: bool,
    /// Messages it published.
    pub sent: u64,
    /// What it heard.
    pub order: Order,
}

/// What never came, once the drain is over, counted in `tally`:
///
/// * each message a publisher sent after the last one a member heard from
///   it is a timeout: it did not arrive within a second (also when the
///   member's connection was closed or reset: the server dropped it);
/// * a member that joined and heard nothing while the others published
///   lost at least one delivery. A member hears only the *others*, so a
///   lone publisher hearing nothing is fine.
///
/// Only this loop's publishers are known here: with `--threads`, what a
/// member owes a publisher of another loop is not checked (gaps are; and
/// a server that relays nothing still fails on zero deliveries).
pub fn audit(members: &[Final], tally: &mut Tally) {
    let sent: HashMap<u64, u64> = members
        .iter()
        .filter(|m| m.sent > 0)
        .map(|m| (m.number, m.sent))
        .collect();
    let published: u64 = sent.values().sum();
    for member in members {
        for (publisher, next) in &member.order.expected {
            let owed = sent
                .get(publisher)
                .map_or(0, |&sent| sent.saturating_sub(*next));
            tally.errors.timeout += owed;
        }
        if member.joined && member.order.delivered == 0 && published > member.sent {
            tally.errors.lost += 1;
        }
    }
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
    fn the_measured_time_counts_by_when_messages_were_published() {
        let plan = plan(1);
        let mut tally = tally();
        let mut order = Order::default();
        let late = plan.end + Duration::from_millis(500);
        let before_end = plan.end.duration_since(plan.start).as_nanos() - 1;
        order.receive(
            &format!("load 0 0 {before_end}"),
            10,
            late,
            &plan,
            &mut tally,
        );
        assert_eq!(tally.ops, 1, "published in time, delivered in the drain");
        let at_end = before_end + 1;
        order.receive(&format!("load 0 1 {at_end}"), 10, late, &plan, &mut tally);
        assert_eq!(
            (tally.ops, order.delivered()),
            (1, 2),
            "published after the end"
        );
        assert_eq!(
            due(&plan, 0, 99, plan.end),
            Some(plan.start + Duration::from_millis(990))
        );
        assert_eq!(due(&plan, 0, 100, plan.end), None, "publishing has stopped");
    }

    fn member(number: u64, joined: bool, sent: u64, order: &Order) -> Final {
        Final {
            number,
            joined,
            sent,
            order: order.clone(),
        }
    }

    #[test]
    fn the_audit_counts_what_never_came_and_who_heard_nothing() {
        let plan = plan(3);
        let now = plan.start;
        let (mut heard_all, mut heard_some, deaf) =
            (Order::default(), Order::default(), Order::default());
        let mut t = tally();
        for seq in 0..10 {
            heard_all.receive(&format!("load 0 {seq} 0"), 1, now, &plan, &mut t);
        }
        for seq in 4..7 {
            heard_some.receive(&format!("load 0 {seq} 0"), 1, now, &plan, &mut t);
        }
        let mut tally = self::tally();
        let members = [
            member(0, true, 10, &deaf), // the publisher: hears nobody
            member(1, true, 0, &heard_all),
            member(2, true, 0, &heard_some), // 7, 8 and 9 never came
            member(3, true, 0, &deaf),       // heard nothing at all
            member(4, false, 0, &deaf),      // never joined
        ];
        audit(&members, &mut tally);
        assert_eq!((tally.errors.timeout, tally.errors.lost), (3, 1));
    }
}
