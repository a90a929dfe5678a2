//! `--mode chat`: N members in one room, each publishing lines at the
//! rate; every line is delivered to the N-1 others.
//!
//! A chat line has no reply to its sender, so there is no closed loop to
//! run: chat needs `--rate`. Each member publishes
//! `load <conn> <seq> <nanos>` on the open-loop schedule, where `nanos` is
//! the line's intended send time since the run started (all loops share
//! that start). Each delivery `NAME: load ...` at another member is one
//! operation, its latency measured from that intended time: fan-out
//! latency. Members check that each publisher's sequence numbers arrive in
//! order with no gap (the SPEC promises room order); a gap is counted lost.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::event_loop::{CloseReason, ConnId, Io, Protocol};

use super::conns::{self, Conns, Tracked};
use super::tally::{Plan, Tally};
use super::{arm_timers, Generator, LoadTimer};

/// A line longer than this without its `\n` is not a chat line: an error.
const MAX_LINE: usize = 64 * 1024;

/// One member.
#[derive(Debug)]
struct Member {
    number: u64,
    /// The welcome line has been read: publishing may begin.
    joined: bool,
    /// Lines published so far.
    sent: u64,
    /// Next sequence number expected from each publisher seen.
    expected: HashMap<u64, u64>,
}

impl Tracked for Member {
    fn schedule(&self) -> Option<(u64, u64)> {
        self.joined.then_some((self.number, self.sent))
    }
}

/// The chat load generator for one loop.
#[derive(Debug)]
pub struct ChatLoad {
    plan: Plan,
    tally: Tally,
    members: Conns<Member>,
    out: String,
}

/// A delivered `load <conn> <seq> <nanos>` line: publisher, sequence,
/// intended send time.
fn parse_delivery(text: &str) -> Option<(u64, u64, u64)> {
    let (_, body) = text.split_once(": ")?;
    let mut words = body.strip_prefix("load ")?.split(' ');
    let mut next = || words.next()?.parse().ok();
    Some((next()?, next()?, next()?))
}

impl ChatLoad {
    /// Publishes every line whose time has come, from every joined member.
    fn tick(&mut self, io: &mut Io<LoadTimer>) {
        let now = Instant::now();
        for (id, member) in self.members.iter_mut() {
            if !member.joined {
                continue;
            }
            self.out.clear();
            while let Some(at) = self
                .plan
                .intended(member.number, member.sent)
                .filter(|&at| at <= now)
            {
                let nanos = at.saturating_duration_since(self.plan.start).as_nanos();
                let _ = writeln!(self.out, "load {} {} {nanos}", member.number, member.sent);
                member.sent += 1;
            }
            if !self.out.is_empty() {
                io.send(id, self.out.as_bytes());
            }
        }
    }

    /// One line received by member `id`.
    fn line(&mut self, id: ConnId, line: &[u8]) {
        let now = Instant::now();
        let start = self.plan.start;
        let Some(member) = self.members.get_mut(id) else {
            return;
        };
        let text = String::from_utf8_lossy(line);
        if text.starts_with("* welcome ") {
            member.joined = true;
            return;
        }
        if text.starts_with("* ") {
            return; // joined, left: the room's comings and goings
        }
        let Some((publisher, seq, nanos)) = parse_delivery(&text) else {
            self.tally.errors.mismatch += 1;
            return;
        };
        let expected = member.expected.entry(publisher).or_insert(seq);
        if seq < *expected {
            self.tally.errors.mismatch += 1; // duplicated or reordered
            return;
        }
        self.tally.errors.lost += seq - *expected;
        *expected = seq + 1;
        let intended = start + Duration::from_nanos(nanos);
        self.tally
            .complete(&self.plan, now, intended, line.len() + 1);
    }
}

impl Generator for ChatLoad {
    fn new(plan: Plan, tally: Tally) -> ChatLoad {
        ChatLoad {
            plan,
            tally,
            members: Conns::default(),
            out: String::new(),
        }
    }

    fn start(&mut self, io: &mut Io<LoadTimer>) {
        self.members
            .open_all(io, &self.plan, &mut self.tally, |number| Member {
                number,
                joined: false,
                sent: 0,
                expected: HashMap::new(),
            });
        arm_timers(io, &self.plan, true);
    }

    fn finish(self, _now: Instant) -> Tally {
        self.tally
    }
}

impl Protocol for ChatLoad {
    type Timer = LoadTimer;

    fn on_open(&mut self, _io: &mut Io<LoadTimer>, _id: ConnId) {
        self.tally.connected += 1;
    }

    fn on_input(&mut self, io: &mut Io<LoadTimer>, id: ConnId, input: &[u8]) -> usize {
        let mut consumed = 0;
        while let Some(end) = input[consumed..].iter().position(|&b| b == b'\n') {
            let line = &input[consumed..consumed + end];
            consumed += end + 1;
            self.line(id, line);
        }
        if input.len() - consumed > MAX_LINE {
            self.tally.errors.mismatch += 1;
            self.members.remove(id);
            io.close(id, CloseReason::Requested);
            return input.len();
        }
        consumed
    }

    fn on_closed(&mut self, _io: &mut Io<LoadTimer>, id: ConnId, reason: &CloseReason) {
        // A lost delivery shows up as a gap at the other members, so
        // nothing in flight is counted here.
        if self.members.remove(id).is_some() {
            conns::count_close(&mut self.tally, reason, 0);
        }
    }

    fn on_timer(&mut self, io: &mut Io<LoadTimer>, timer: LoadTimer) {
        conns::on_timer(io, timer, |io| self.tick(io));
    }
}

#[cfg(test)]
mod tests {
    use super::parse_delivery;

    #[test]
    fn a_delivery_names_publisher_sequence_and_time() {
        assert_eq!(
            parse_delivery("guest-3: load 7 42 1000"),
            Some((7, 42, 1000))
        );
        assert_eq!(parse_delivery("guest-3: hello"), None);
    }
}
