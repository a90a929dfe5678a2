//! `--mode chat`: N members in one room; the first `--publishers` of them
//! (all, by default) publish lines at the rate, and every line is
//! delivered to the N-1 others.
//!
//! Each publisher sends `load <conn> <seq> <nanos>` lines on the
//! open-loop schedule, and each delivery `NAME: load ...` at another
//! member is one operation; `fanout.rs` has the message, the order check
//! and how losses are counted, which `--mode socketio` shares.

use std::time::Instant;

use crate::event_loop::{CloseReason, ConnId, Io, Protocol};
use crate::proto::line::{Frame, LineFramer};

use super::conns::{self, Conns, Tracked};
use super::fanout::{self, Order};
use super::tally::{Plan, Tally};
use super::{Generator, LoadTimer};

/// A line longer than this is not a chat line the generator sent: an error.
const MAX_LINE: usize = 64 * 1024;

/// One member.
#[derive(Debug)]
struct Member {
    number: u64,
    /// Whether this member is one of the publishers.
    publishes: bool,
    /// The welcome line has been read: publishing may begin.
    joined: bool,
    /// Lines published so far.
    sent: u64,
    /// What it has heard from each publisher.
    order: Order,
    /// Splits what arrives into lines.
    framer: LineFramer,
}

impl Tracked for Member {
    fn schedule(&self) -> Option<(u64, u64)> {
        (self.joined && self.publishes).then_some((self.number, self.sent))
    }
}

/// The chat load generator for one loop.
#[derive(Debug)]
pub struct ChatLoad {
    plan: Plan,
    tally: Tally,
    members: Conns<Member>,
    /// Members whose connection closed, for the audit.
    departed: Vec<fanout::Final>,
    out: String,
}

impl ChatLoad {
    /// Publishes every line whose time has come, from every joined
    /// publisher whose earlier lines have left.
    fn tick(&mut self, io: &mut Io<LoadTimer>) {
        let now = Instant::now();
        for (id, member) in self.members.iter_mut() {
            if !(member.joined && member.publishes) {
                continue;
            }
            self.out.clear();
            while let Some(at) = fanout::due(&self.plan, member.number, member.sent, now)
                .filter(|_| io.queued(id) + self.out.len() < fanout::MAX_QUEUED)
            {
                fanout::write_message(&mut self.out, &self.plan, member.number, member.sent, at);
                self.out.push('\n');
                member.sent += 1;
            }
            if !self.out.is_empty() {
                io.send(id, self.out.as_bytes());
            }
        }
    }
}

impl Member {
    /// What the audit needs of this member; its order is moved out.
    fn take_final(&mut self) -> fanout::Final {
        fanout::Final {
            number: self.number,
            joined: self.joined,
            sent: self.sent,
            order: std::mem::take(&mut self.order),
        }
    }

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
        // `NAME: load ...`: the name is the chat's, the rest the publisher's.
        let Some((_, body)) = text.split_once(": ") else {
            tally.errors.mismatch += 1;
            return;
        };
        self.order.receive(body, text.len() + 1, now, plan, tally);
    }
}

impl Generator for ChatLoad {
    fn new(plan: Plan, tally: Tally) -> ChatLoad {
        ChatLoad {
            plan,
            tally,
            members: Conns::default(),
            departed: Vec::new(),
            out: String::new(),
        }
    }

    fn start(&mut self, io: &mut Io<LoadTimer>) {
        self.members
            .open_all(io, &self.plan, &mut self.tally, |number| Member {
                number,
                publishes: self.plan.sends(number),
                joined: false,
                sent: 0,
                order: Order::default(),
                framer: LineFramer::new(MAX_LINE),
            });
        fanout::arm_timers(io, &self.plan);
    }

    /// What never came is counted (`fanout::audit`), for the members
    /// still here and those that left.
    fn finish(mut self, _now: Instant) -> Tally {
        let mut members = std::mem::take(&mut self.departed);
        members.extend(self.members.iter_mut().map(|(_, m)| m.take_final()));
        fanout::audit(&members, &mut self.tally);
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
        if let Some(mut member) = self.members.remove(id) {
            conns::count_close(&mut self.tally, reason, 0);
            self.departed.push(member.take_final());
        }
    }

    fn on_timer(&mut self, io: &mut Io<LoadTimer>, timer: LoadTimer) {
        conns::on_timer(io, timer, |io| self.tick(io));
    }
}
