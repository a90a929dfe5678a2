//! `--mode udp`: N UDP sockets, each a protocol source on the loop.
//!
//! UDP has no connection to say that a datagram is gone, so every datagram
//! says who it is: a header of socket number, sequence number and send time
//! (nanoseconds since the run started), then payload bytes that are a
//! function of (socket, sequence) like echo's. A reply is matched by its
//! sequence number to the send recorded for it and verified byte by byte;
//! a datagram not back within [`LOSS_AFTER`] is counted lost, and a late
//! reply to it is ignored. The tick checks for losses and, in closed loop,
//! refills a socket that lost one, so `--pipeline` stays in flight.

use std::collections::BTreeMap;
use std::io;
use std::time::{Duration, Instant};

use log::debug;

use crate::event_loop::datagram::{self, BufferSizes};
use crate::event_loop::{Io, Protocol, Readiness, SourceInterest, UdpSocket};

use super::conns;
use super::echo::pattern;
use super::tally::{Plan, Tally};
use super::{arm_timers, Generator, LoadTimer};

/// Header bytes: socket number, sequence number, send time; 8 bytes each,
/// big-endian. Smaller `--size` values are raised to this.
pub const HEADER: usize = 24;

/// A reply not back this long after its send is lost.
pub const LOSS_AFTER: Duration = Duration::from_secs(1);

/// One socket and the datagrams it has in flight.
#[derive(Debug)]
struct Sock {
    socket: UdpSocket,
    /// Global number, in every header.
    number: u64,
    /// Datagrams sent so far (the next sequence number).
    sent: u64,
    /// Send times (open loop: intended) by sequence number.
    outstanding: BTreeMap<u64, Instant>,
    /// Whether any reply came back: UDP has no connect, so a socket
    /// counts as connected once the server has answered it.
    answered: bool,
}

/// The UDP load generator for one loop.
#[derive(Debug)]
pub struct UdpLoad {
    plan: Plan,
    tally: Tally,
    socks: Vec<Sock>,
    /// Bytes per datagram.
    size: usize,
    buf: Vec<u8>,
    out: Vec<u8>,
}

impl UdpLoad {
    /// Sends the next datagram of socket `n`, stamped `at`. False when the
    /// socket cannot take it now (the tick tries again).
    fn send_one(&mut self, n: usize, at: Instant) -> bool {
        let sock = &mut self.socks[n];
        let seq = sock.sent;
        self.out.clear();
        self.out.extend_from_slice(&sock.number.to_be_bytes());
        self.out.extend_from_slice(&seq.to_be_bytes());
        let nanos = at.saturating_duration_since(self.plan.start).as_nanos();
        self.out
            .extend_from_slice(&u64::try_from(nanos).unwrap_or(u64::MAX).to_be_bytes());
        let first = seq * self.size as u64;
        self.out.extend(
            (first + HEADER as u64..first + self.size as u64)
                .map(|offset| pattern(sock.number, offset)),
        );
        match sock.socket.send(&self.out) {
            Ok(_) => {
                sock.outstanding.insert(seq, at);
                sock.sent += 1;
                true
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => false,
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                self.tally.connect_failed(&e);
                false
            }
            Err(_) => {
                self.tally.errors.reset += 1;
                false
            }
        }
    }

    /// Checks one reply of socket `n`; returns its send time if it is one
    /// of ours, intact and expected.
    fn verify(&mut self, n: usize, len: usize) -> Option<Instant> {
        let datagram = &self.buf[..len];
        let sock = &mut self.socks[n];
        let field = |i: usize| {
            datagram
                .get(i * 8..i * 8 + 8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
        };
        let (Some(number), Some(seq)) = (field(0), field(1)) else {
            self.tally.errors.mismatch += 1;
            return None;
        };
        if number == sock.number && seq < sock.sent && !sock.outstanding.contains_key(&seq) {
            return None; // a late reply to a datagram already counted lost
        }
        let first = seq.wrapping_mul(self.size as u64);
        let intact = number == sock.number
            && len == self.size
            && datagram[HEADER..]
                .iter()
                .zip(first + HEADER as u64..)
                .all(|(&byte, offset)| byte == pattern(number, offset));
        match sock.outstanding.remove(&seq) {
            Some(sent) if intact => Some(sent),
            _ => {
                self.tally.errors.mismatch += 1;
                None
            }
        }
    }

    fn receive(&mut self, io: &mut Io<LoadTimer>, n: usize) {
        for _ in 0..datagram::RECV_BUDGET {
            match self.socks[n].socket.recv(&mut self.buf) {
                Ok(len) => {
                    if !self.socks[n].answered {
                        self.socks[n].answered = true;
                        self.tally.connected += 1;
                    }
                    if let Some(sent) = self.verify(n, len) {
                        let now = Instant::now();
                        self.tally.complete(&self.plan, now, sent, len);
                        if self.plan.interval.is_none() {
                            self.send_one(n, now);
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    self.tally.connect_failed(&e);
                    return;
                }
                Err(_) => {
                    self.tally.errors.reset += 1;
                    return;
                }
            }
        }
        io.revisit_source(n);
    }

    /// Counts losses, then sends what is due: open loop by the schedule,
    /// closed loop up to `--pipeline` in flight.
    fn tick(&mut self, now: Instant) {
        for n in 0..self.socks.len() {
            let sock = &mut self.socks[n];
            let before = sock.outstanding.len();
            sock.outstanding.retain(|_, sent| *sent + LOSS_AFTER > now);
            self.tally.errors.lost += (before - sock.outstanding.len()) as u64;
            loop {
                let sock = &self.socks[n];
                let at = match self.plan.intended(sock.number, sock.sent) {
                    Some(at) if at <= now => at,
                    Some(_) => break,
                    None if sock.outstanding.len() < self.plan.pipeline => now,
                    None => break,
                };
                if !self.send_one(n, at) {
                    break;
                }
            }
        }
    }
}

impl Generator for UdpLoad {
    fn new(plan: Plan, tally: Tally) -> UdpLoad {
        UdpLoad {
            size: plan.size.max(HEADER),
            plan,
            tally,
            socks: Vec::new(),
            buf: vec![0; datagram::RECV_BUFFER],
            out: Vec::new(),
        }
    }

    fn start(&mut self, io: &mut Io<LoadTimer>) {
        for number in self.plan.numbers.clone() {
            let sizes = BufferSizes::default();
            let opened = datagram::bind_for(self.plan.addr, sizes).and_then(|(mut socket, got)| {
                if self.socks.is_empty() {
                    // The same for every socket: said once.
                    debug!("load socket {got}");
                }
                socket.connect(self.plan.addr)?;
                SourceInterest::register(io, &mut socket, self.socks.len())?;
                Ok(socket)
            });
            match opened {
                Ok(socket) => {
                    self.socks.push(Sock {
                        socket,
                        number,
                        sent: 0,
                        outstanding: BTreeMap::new(),
                        answered: false,
                    });
                }
                Err(e) => self.tally.connect_failed(&e),
            }
        }
        arm_timers(io, &self.plan, true);
        self.tick(Instant::now());
    }

    fn finish(self, _now: Instant) -> Tally {
        self.tally
    }
}

impl Protocol for UdpLoad {
    type Timer = LoadTimer;

    fn on_source(&mut self, io: &mut Io<LoadTimer>, source: usize, ready: Readiness) {
        if ready.readable && source < self.socks.len() {
            self.receive(io, source);
        }
    }

    fn on_timer(&mut self, io: &mut Io<LoadTimer>, timer: LoadTimer) {
        conns::on_timer(io, timer, |_| self.tick(Instant::now()));
    }
}
