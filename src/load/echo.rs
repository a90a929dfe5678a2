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

use crate::reactor::{CloseReason, ConnId, Io, Protocol};

use super::tally::{Plan, Tally};
use super::{arm_timers, Generator, END, TICK, TICK_EVERY, TIMEOUT};

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
    /// Which occupant of the slab slot this is.
    id: ConnId,
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

/// The echo load generator for one loop.
#[derive(Debug)]
pub struct EchoLoad {
    plan: Plan,
    tally: Tally,
    /// Connections by slab index.
    conns: Vec<Option<Conn>>,
    /// Reused buffer for building messages.
    out: Vec<u8>,
}

impl EchoLoad {
    fn conn_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        self.conns
            .get_mut(id.index())
            .and_then(Option::as_mut)
            .filter(|conn| conn.id == id)
    }

    /// Sends `count` more messages on `id`, each stamped `at`.
    fn send(&mut self, io: &mut Io, id: ConnId, count: u64, at: impl Fn(u64) -> Instant) {
        let size = self.plan.size as u64;
        let Some(conn) = self
            .conns
            .get_mut(id.index())
            .and_then(Option::as_mut)
            .filter(|conn| conn.id == id)
        else {
            return;
        };
        self.out.clear();
        for _ in 0..count {
            let first = conn.sent * size;
            self.out
                .extend((first..first + size).map(|offset| pattern(conn.number, offset)));
            conn.in_flight.push_back(at(conn.sent));
            conn.sent += 1;
        }
        io.send(id, &self.out);
    }

    /// Open loop: sends every message whose time has come.
    fn tick(&mut self, io: &mut Io) {
        let now = Instant::now();
        let due: Vec<(ConnId, u64)> = self
            .conns
            .iter()
            .flatten()
            .filter(|conn| conn.open)
            .map(|conn| {
                let mut count = 0;
                while self
                    .plan
                    .intended(conn.number, conn.sent + count)
                    .is_some_and(|at| at <= now)
                {
                    count += 1;
                }
                (conn.id, count)
            })
            .filter(|&(_, count)| count > 0)
            .collect();
        for (id, count) in due {
            let Some(number) = self.conn_mut(id).map(|conn| conn.number) else {
                continue;
            };
            let plan = self.plan.clone();
            self.send(io, id, count, |seq| {
                plan.intended(number, seq).unwrap_or(now)
            });
        }
    }
}

impl Generator for EchoLoad {
    fn new(plan: Plan, tally: Tally) -> EchoLoad {
        EchoLoad {
            plan,
            tally,
            conns: Vec::new(),
            out: Vec::new(),
        }
    }

    fn start(&mut self, io: &mut Io) {
        for number in self.plan.numbers.clone() {
            match io.connect(self.plan.addr) {
                Ok(id) => {
                    if self.conns.len() <= id.index() {
                        self.conns.resize_with(id.index() + 1, || None);
                    }
                    self.conns[id.index()] = Some(Conn {
                        id,
                        number,
                        sent: 0,
                        received: 0,
                        in_flight: VecDeque::new(),
                        open: false,
                    });
                }
                Err(e) => self.tally.connect_failed(&e),
            }
        }
        arm_timers(io, &self.plan, self.plan.interval.is_some());
    }

    /// Messages still unanswered a second after they were sent, when the
    /// run ends, count as timeouts.
    fn finish(mut self, now: Instant) -> Tally {
        self.tally.errors.timeout += self
            .conns
            .iter()
            .flatten()
            .flat_map(|conn| &conn.in_flight)
            .filter(|&&sent| sent + TIMEOUT <= now)
            .count() as u64;
        self.tally
    }
}

impl Protocol for EchoLoad {
    fn on_open(&mut self, io: &mut Io, id: ConnId) {
        self.tally.connected += 1;
        let pipeline = self.plan.pipeline as u64;
        let closed_loop = self.plan.interval.is_none();
        if let Some(conn) = self.conn_mut(id) {
            conn.open = true;
        }
        if closed_loop {
            let now = Instant::now();
            self.send(io, id, pipeline, |_| now);
        } else {
            self.tick(io);
        }
    }

    fn on_input(&mut self, io: &mut Io, id: ConnId, input: &[u8]) -> usize {
        let size = self.plan.size as u64;
        let now = Instant::now();
        let Some(conn) = self
            .conns
            .get_mut(id.index())
            .and_then(Option::as_mut)
            .filter(|conn| conn.id == id)
        else {
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
            self.conns[id.index()] = None;
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
            self.send(io, id, done, |_| now);
        }
        input.len()
    }

    fn on_closed(&mut self, _io: &mut Io, id: ConnId, reason: &CloseReason) {
        let Some(conn) = self.conn_mut(id) else {
            return;
        };
        let lost = conn.in_flight.len() as u64;
        self.conns[id.index()] = None;
        match reason {
            CloseReason::ConnectFailed(e) => self.tally.connect_failed(e),
            _ => {
                self.tally.errors.reset += 1;
                self.tally.errors.lost += lost;
            }
        }
    }

    fn on_timer(&mut self, io: &mut Io, key: u64) {
        match key {
            END => io.stop(),
            TICK => {
                self.tick(io);
                io.set_timer(TICK_EVERY, TICK);
            }
            _ => {}
        }
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
