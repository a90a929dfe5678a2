//! `--mode echo`: TCP connections that send messages and verify every byte
//! that comes back.
//!
//! Each connection's byte stream is a pure function of (connection number,
//! offset in the stream), [`pattern`]. So nothing sent needs to be kept:
//! each returned byte is compared with the byte that must be at its offset,
//! and a byte flipped, dropped or duplicated by the server shows up as a
//! mismatch. A message is done when its last byte is back; what is kept per
//! message in flight is only when it was (meant to be) sent.

use std::collections::VecDeque;
use std::time::Instant;

use crate::event_loop::{CloseReason, ConnId, Io, Protocol};

use super::conns::{self, Conns, Tracked};
use super::tally::{Plan, Tally};
use super::{arm_timers, Generator, LoadTimer};

/// The byte at `offset` of connection `number`'s stream: a multiplicative
/// hash, so neighbouring bytes and neighbouring connections differ.
pub fn pattern(number: u64, offset: u64) -> u8 {
    let x = offset.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ number.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    (x >> 56) as u8
}

/// One connection's progress.
#[derive(Debug)]
struct Conn {
    /// The connection's global number (chooses its byte stream).
    number: u64,
    /// Messages sent so far.
    sent: u64,
    /// Bytes received (and verified) so far.
    received: u64,
    /// Send times (open loop: intended send times) of messages in flight,
    /// oldest first.
    in_flight: VecDeque<Instant>,
    /// Whether the connect completed.
    open: bool,
}

impl Tracked for Conn {
    fn schedule(&self) -> Option<(u64, u64)> {
        self.open.then_some((self.number, self.sent))
    }
}

/// The echo load generator for one loop.
#[derive(Debug)]
pub struct EchoLoad {
    plan: Plan,
    tally: Tally,
    /// Connections by slab index.
    conns: Conns<Conn>,
    /// Reused buffer for building messages.
    out: Vec<u8>,
}

impl EchoLoad {
    /// Sends `count` more messages on `id`, each stamped with when it was
    /// meant to leave (closed loop: `now`).
    fn send(&mut self, io: &mut Io<LoadTimer>, id: ConnId, count: u64, now: Instant) {
        let size = self.plan.size as u64;
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        self.out.clear();
        for _ in 0..count {
            let first = conn.sent * size;
            self.out
                .extend((first..first + size).map(|offset| pattern(conn.number, offset)));
            // Open loop: latency counts from when it was meant to leave.
            let stamp = self.plan.intended(conn.number, conn.sent).unwrap_or(now);
            conn.in_flight.push_back(stamp);
            conn.sent += 1;
        }
        io.send(id, &self.out);
    }

    /// Open loop: sends every message whose time has come.
    fn tick(&mut self, io: &mut Io<LoadTimer>) {
        let now = Instant::now();
        for (id, count) in self.conns.due(&self.plan, now) {
            self.send(io, id, count, now);
        }
    }
}

impl Generator for EchoLoad {
    fn new(plan: Plan, tally: Tally) -> EchoLoad {
        EchoLoad {
            plan,
            tally,
            conns: Conns::default(),
            out: Vec::new(),
        }
    }

    fn start(&mut self, io: &mut Io<LoadTimer>) {
        self.conns
            .open_all(io, &self.plan, &mut self.tally, |number| Conn {
                number,
                sent: 0,
                received: 0,
                in_flight: VecDeque::new(),
                open: false,
            });
        arm_timers(io, &self.plan, self.plan.interval.is_some());
    }

    /// Messages still unanswered a second after they were sent, when the
    /// run ends, count as timeouts.
    fn finish(mut self, now: Instant) -> Tally {
        let in_flight = self.conns.iter().flat_map(|conn| &conn.in_flight);
        self.tally.errors.timeout += conns::timeouts(in_flight, now);
        self.tally
    }
}

impl Protocol for EchoLoad {
    type Timer = LoadTimer;

    fn on_open(&mut self, io: &mut Io<LoadTimer>, id: ConnId) {
        self.tally.connected += 1;
        let pipeline = self.plan.pipeline as u64;
        let closed_loop = self.plan.interval.is_none();
        if let Some(conn) = self.conns.get_mut(id) {
            conn.open = true;
        }
        if closed_loop {
            let now = Instant::now();
            self.send(io, id, pipeline, now);
        } else {
            self.tick(io);
        }
    }

    fn on_input(&mut self, io: &mut Io<LoadTimer>, id: ConnId, input: &[u8]) -> usize {
        let size = self.plan.size as u64;
        let now = Instant::now();
        let Some(conn) = self.conns.get_mut(id) else {
            return input.len();
        };
        let before = conn.received;
        let expected = before..before + input.len() as u64;
        let intact = input.len() as u64 <= conn.sent * size - before
            && input
                .iter()
                .zip(expected)
                .all(|(&byte, offset)| byte == pattern(conn.number, offset));
        if !intact {
            // The stream is out of step from here on: one mismatch, and
            // this connection is done.
            self.tally.errors.mismatch += 1;
            self.conns.remove(id);
            io.close(id, CloseReason::Requested);
            return input.len();
        }
        conn.received += input.len() as u64;
        let done = conn.received / size - before / size;
        for _ in 0..done {
            if let Some(sent) = conn.in_flight.pop_front() {
                self.tally.complete(&self.plan, now, sent, self.plan.size);
            }
        }
        if self.plan.interval.is_none() && done > 0 {
            self.send(io, id, done, now);
        }
        input.len()
    }

    fn on_closed(&mut self, _io: &mut Io<LoadTimer>, id: ConnId, reason: &CloseReason) {
        if let Some(conn) = self.conns.remove(id) {
            conns::count_close(&mut self.tally, reason, conn.in_flight.len() as u64);
        }
    }

    fn on_timer(&mut self, io: &mut Io<LoadTimer>, timer: LoadTimer) {
        conns::on_timer(io, timer, |io| self.tick(io));
    }
}

#[cfg(test)]
mod tests {
    use super::pattern;

    #[test]
    fn streams_differ_between_connections_and_offsets() {
        let a: Vec<u8> = (0..64).map(|o| pattern(0, o)).collect();
        let b: Vec<u8> = (0..64).map(|o| pattern(1, o)).collect();
        assert_ne!(a, b);
        assert!(a.windows(2).any(|w| w[0] != w[1]));
    }
}
