//! `--mode socketio`: `--mode chat` over Socket.IO, against the web
//! address of `reactor chat --web` (or any server with its events).
//!
//! N members, each one TCP connection that upgrades to a WebSocket on
//! `/socket.io/` and joins namespace `/` as the official client does
//! (`session.rs` has every step). They all land in the default room; the
//! first `--publishers` of them publish `message` events carrying
//! `load <n> <seq> <nanos>` on the open-loop schedule, and every other
//! member checks and times each delivery, exactly as in chat mode
//! (`fanout.rs`).
//!
//! Memory is bounded whatever the server does: a member's decoder holds
//! at most one message of `session::MAX_MESSAGE` bytes, an unfinished
//! response head at most `session::MAX_HEAD`, and a publisher whose
//! output has not left ([`fanout::MAX_QUEUED`]) sends nothing more until
//! it has: the messages due meanwhile are late, and their latency says so.

mod masks;
mod session;

use std::time::Instant;

use log::debug;

use crate::event_loop::{CloseReason, ConnId, Io, Protocol};

use super::conns::{self, Conns, Tracked};
use super::fanout::{self, Order};
use super::tally::{Plan, Tally};
use super::{Generator, LoadTimer};
use masks::Masks;
use session::{Broken, Heard, Session};

/// One member.
#[derive(Debug)]
struct Member {
    /// The member's global number; publishers are `0..--publishers`.
    number: u64,
    /// Whether this member is one of the publishers.
    publishes: bool,
    /// Messages published so far.
    sent: u64,
    /// What it has heard from each publisher.
    order: Order,
    /// Its Socket.IO session.
    session: Session,
}

impl Member {
    /// What the audit needs of this member; its order is moved out.
    fn take_final(&mut self) -> fanout::Final {
        fanout::Final {
            number: self.number,
            joined: self.session.is_joined(),
            sent: self.sent,
            order: std::mem::take(&mut self.order),
        }
    }
}

impl Tracked for Member {
    fn schedule(&self) -> Option<(u64, u64)> {
        (self.publishes && self.session.is_joined()).then_some((self.number, self.sent))
    }
}

/// The Socket.IO load generator for one loop.
#[derive(Debug)]
pub struct SocketIoLoad {
    plan: Plan,
    tally: Tally,
    members: Conns<Member>,
    /// This loop's publishers that have joined: the ones a tick visits.
    publishers: Vec<ConnId>,
    /// Members whose connection closed, for the audit.
    departed: Vec<fanout::Final>,
    /// Seeds each member's mask keys.
    masks: Masks,
    /// The `Host` of the upgrade requests.
    host: String,
    /// Reused buffer for what a member sends.
    out: Vec<u8>,
    /// Reused buffer for a message's text.
    text: String,
}

impl SocketIoLoad {
    /// Publishes every message whose time has come, from every joined
    /// publisher whose earlier messages have left.
    fn tick(&mut self, io: &mut Io<LoadTimer>) {
        let now = Instant::now();
        for &id in &self.publishers {
            let Some(member) = self.members.get_mut(id) else {
                continue;
            };
            self.out.clear();
            while let Some(at) = fanout::due(&self.plan, member.number, member.sent, now)
                .filter(|_| io.queued(id) + self.out.len() < fanout::MAX_QUEUED)
            {
                self.text.clear();
                fanout::write_message(&mut self.text, &self.plan, member.number, member.sent, at);
                member.session.publish(&self.text, &mut self.out);
                member.sent += 1;
            }
            io.send(id, &self.out);
        }
    }

    /// The member cannot go on: count why, forget it, close it (after
    /// what was queued for it, such as the answer to a close).
    fn give_up(&mut self, io: &mut Io<LoadTimer>, id: ConnId, broken: Broken) {
        debug!("socket.io member {id:?}: {broken:?}");
        match broken {
            Broken::Refused(why) => self.tally.connect_failed(&why),
            Broken::Protocol(_) => self.tally.errors.mismatch += 1,
            Broken::Ended(_) => self.tally.errors.reset += 1,
        }
        self.forget(id);
        io.close(id, CloseReason::Requested);
    }

    /// Drops `id`'s state, keeping what the audit needs; returns whether
    /// it was there.
    fn forget(&mut self, id: ConnId) -> bool {
        let Some(mut member) = self.members.remove(id) else {
            return false;
        };
        if member.publishes {
            self.publishers.retain(|&p| p != id);
        }
        self.departed.push(member.take_final());
        true
    }
}

impl Generator for SocketIoLoad {
    fn new(plan: Plan, tally: Tally) -> SocketIoLoad {
        SocketIoLoad {
            host: plan.addr.to_string(),
            plan,
            tally,
            members: Conns::default(),
            publishers: Vec::new(),
            departed: Vec::new(),
            masks: Masks::seeded(),
            out: Vec::new(),
            text: String::new(),
        }
    }

    fn start(&mut self, io: &mut Io<LoadTimer>) {
        let (plan, masks) = (&self.plan, &mut self.masks);
        self.members
            .open_all(io, plan, &mut self.tally, |number| Member {
                number,
                publishes: plan.sends(number),
                sent: 0,
                order: Order::default(),
                session: Session::new(Masks::from_seed(masks.next())),
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

impl Protocol for SocketIoLoad {
    type Timer = LoadTimer;

    fn on_open(&mut self, io: &mut Io<LoadTimer>, id: ConnId) {
        if let Some(member) = self.members.get_mut(id) {
            self.out.clear();
            member.session.request(&self.host, &mut self.out);
            io.send(id, &self.out);
        }
    }

    fn on_input(&mut self, io: &mut Io<LoadTimer>, id: ConnId, input: &[u8]) -> usize {
        let Some(member) = self.members.get_mut(id) else {
            return input.len();
        };
        // Everything in one read arrived together: one clock reading.
        let now = Instant::now();
        let (plan, tally) = (&self.plan, &mut self.tally);
        let Member { session, order, .. } = member;
        let mut joined = false;
        self.out.clear();
        let read = session.read(input, &mut self.out, &mut |heard| match heard {
            Heard::Joined => joined = true,
            Heard::Message { text, bytes } => order.receive(text, bytes, now, plan, tally),
            Heard::Refused(why) => {
                debug!("socket.io member {id:?}: error event {why:?}");
                tally.errors.status += 1;
            }
            Heard::Unexpected(what) => {
                debug!("socket.io member {id:?}: {what}");
                tally.errors.mismatch += 1;
            }
        });
        io.send(id, &self.out);
        if joined {
            self.tally.connected += 1;
            if member.publishes {
                self.publishers.push(id);
            }
        }
        match read {
            Ok(used) => used,
            Err(broken) => {
                self.give_up(io, id, broken);
                input.len()
            }
        }
    }

    fn on_closed(&mut self, _io: &mut Io<LoadTimer>, id: ConnId, reason: &CloseReason) {
        // A lost delivery shows up as a gap at the other members, so
        // nothing in flight is counted here.
        if self.forget(id) {
            conns::count_close(&mut self.tally, reason, 0);
        }
    }

    fn on_timer(&mut self, io: &mut Io<LoadTimer>, timer: LoadTimer) {
        conns::on_timer(io, timer, |io| self.tick(io));
    }
}
