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
//! order with no gap (the chat keeps each sender's order); a gap is
//! counted lost. A member that hears nothing at all while others publish
//! is counted too: one lost delivery for each such member.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::event_loop::{CloseReason, ConnId, Io, Protocol};
use crate::proto::line::{Frame, LineFramer};

use super::conns::{self, Conns, Tracked};
use super::tally::{Plan, Tally};
use super::{arm_timers, Generator, LoadTimer};

/// A line longer than this is not a chat line the generator sent: an error.
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
    /// Deliveries received.
    delivered: u64,
    /// Splits what arrives into lines.
    framer: LineFramer,
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
}

impl Member {
    /// One frame received by this member, counted in `tally`.
    fn receive(&mut self, frame: Frame, plan: &Plan, tally: &mut Tally) {
        let now = Instant::now();
        let Frame::Line(text) = frame else {
            tally.errors.mismatch += 1;
            return;
        };
        if text.starts_with("* welcome ") {
            if !self.joined {
                self.joined = true;
                tally.connected += 1;
            }
            return;
        }
        if text.starts_with("* ") {
            return; // joined, left: the room's comings and goings
        }
        let Some((publisher, seq, nanos)) = parse_delivery(text) else {
            tally.errors.mismatch += 1;
            return;
        };
        let expected = self.expected.entry(publisher).or_insert(seq);
        // A sequence number that cannot be followed is not one we sent.
        let (Some(next), true) = (seq.checked_add(1), seq >= *expected) else {
            tally.errors.mismatch += 1; // duplicated, reordered or forged
            return;
        };
        tally.errors.lost += seq - *expected;
        *expected = next;
        self.delivered += 1;
        let intended = plan.start + Duration::from_nanos(nanos);
        tally.complete(plan, now, intended, text.len() + 1);
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
                delivered: 0,
                framer: LineFramer::new(MAX_LINE),
            });
        arm_timers(io, &self.plan, true);
    }

    /// A member that joined and heard nothing, while lines were published,
    /// lost at least one delivery.
    fn finish(mut self, _now: Instant) -> Tally {
        let published: u64 = self.members.iter().map(|member| member.sent).sum();
        if published > 0 {
            let deaf = self.members.iter().filter(|m| m.joined && m.delivered == 0);
            self.tally.errors.lost += deaf.count() as u64;
        }
        self.tally
    }
}

impl Protocol for ChatLoad {
    type Timer = LoadTimer;

    fn on_input(&mut self, _io: &mut Io<LoadTimer>, id: ConnId, input: &[u8]) -> usize {
        let Some(member) = self.members.get_mut(id) else {
            return input.len();
        };
        let mut framer = member.framer.clone();
        let mut lines = framer.lines(input);
        for frame in &mut lines {
            member.receive(frame, &self.plan, &mut self.tally);
        }
        let used = lines.consumed();
        member.framer = framer;
        used
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
