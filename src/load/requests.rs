//! What the echo and HTTP generators share: connections that send
//! requests, each answered by the server in order, on a closed or open
//! loop. [`RequestLoad`] is that generator once; an [`Exchange`] is the
//! little that differs (what a request is, how answers are recognised):
//! `echo.rs` and `http.rs`.
//!
//! Per connection it keeps the number of requests sent and, for each one
//! not answered yet, when it was (meant to be) sent. An answer takes the
//! oldest of those: servers answer in order on one connection, and the
//! latency is measured from that time.
//!
//! Memory stays bounded whatever the server does: a connection has at
//! most [`window`] requests in flight. In open loop a request that cannot
//! be sent on time because the window is full is *late*, not queued: it is
//! sent once the window has room, stamped with the time it was meant to
//! leave, so the server's stall shows up in the latency.

use std::collections::VecDeque;
use std::time::Instant;

use crate::event_loop::{CloseReason, ConnId, Io, Protocol};

use super::conns::{self, Conns, Tracked};
use super::tally::{Plan, Tally};
use super::{arm_timers, Generator, LoadTimer};

/// Requests one connection may have in flight at most, whatever the
/// rate: enough for any pipeline the command line allows.
pub const MAX_IN_FLIGHT: usize = 4096;

/// Bytes one connection may have in flight at most (requests sent and
/// not answered): what bounds memory when requests are large.
pub const MAX_BYTES_IN_FLIGHT: usize = 64 * 1024 * 1024;

/// Requests of `size` bytes one connection may have in flight.
pub fn window(size: usize) -> usize {
    (MAX_BYTES_IN_FLIGHT / size.max(1)).clamp(1, MAX_IN_FLIGHT)
}

/// One answer recognised in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// A good answer of this many bytes.
    Ok(usize),
    /// An answer that says the request failed (an HTTP status outside 2xx).
    Failed,
}

/// What the input showed that the exchange cannot go on from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broken {
    /// Bytes that are not what the server should have sent.
    Mismatch,
}

/// What differs between request generators.
pub trait Exchange: Sized {
    /// What the exchange keeps per connection (a partly read answer).
    type State: Default + std::fmt::Debug;

    /// The exchange for a run with these parameters.
    fn new(plan: &Plan) -> Self;

    /// Appends request `seq` of connection `number` to `out`.
    fn write_request(&self, out: &mut Vec<u8>, number: u64, seq: u64);

    /// Reads the answers at the start of `input` for connection `number`,
    /// which has `unanswered` requests in flight, calling `answered` for
    /// each whole one. Returns the bytes consumed (the rest is offered
    /// again with the next input). An answer to no request is
    /// [`Broken::Mismatch`].
    fn read_answers(
        &self,
        state: &mut Self::State,
        number: u64,
        unanswered: usize,
        input: &[u8],
        answered: &mut dyn FnMut(Answer),
    ) -> Result<usize, Broken>;
}

/// When a request in flight left.
#[derive(Debug, Clone, Copy)]
struct Sent {
    /// When it was meant to leave: latency counts from here (in open loop a
    /// late request's wait is part of its latency).
    intended: Instant,
    /// When it really left: a timeout counts from here.
    at: Instant,
}

/// One connection's progress.
#[derive(Debug)]
struct Conn<S> {
    /// The connection's global number (chooses its payloads).
    number: u64,
    /// Requests sent so far.
    sent: u64,
    /// Requests in flight, oldest first.
    in_flight: VecDeque<Sent>,
    /// Whether the connect completed.
    open: bool,
    /// Whether the server has answered anything yet: only then does the
    /// connection count as made (a connect the kernel completed for a
    /// server that never serves it is not).
    answered: bool,
    /// The exchange's own state.
    exchange: S,
}

impl<S> Tracked for Conn<S> {
    fn schedule(&self) -> Option<(u64, u64)> {
        self.open.then_some((self.number, self.sent))
    }
}

/// A request generator for one loop.
#[derive(Debug)]
pub struct RequestLoad<E: Exchange> {
    plan: Plan,
    tally: Tally,
    conns: Conns<Conn<E::State>>,
    exchange: E,
    /// Requests one connection may have in flight.
    window: usize,
    /// Reused buffer for building requests.
    out: Vec<u8>,
}

impl<E: Exchange> RequestLoad<E> {
    /// Sends up to `count` more requests on `id` (fewer if the window is
    /// full), each stamped with when it was meant to leave (closed loop:
    /// `now`).
    fn send(&mut self, io: &mut Io<LoadTimer>, id: ConnId, count: u64, now: Instant) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        self.out.clear();
        let room = self.window.saturating_sub(conn.in_flight.len()) as u64;
        for _ in 0..count.min(room) {
            self.exchange
                .write_request(&mut self.out, conn.number, conn.sent);
            let intended = self.plan.intended(conn.number, conn.sent).unwrap_or(now);
            conn.in_flight.push_back(Sent { intended, at: now });
            conn.sent += 1;
        }
        io.send(id, &self.out);
    }

    /// Open loop: sends every request whose time has come.
    fn tick(&mut self, io: &mut Io<LoadTimer>) {
        let now = Instant::now();
        for (id, count) in self.conns.due(&self.plan, now) {
            self.send(io, id, count, now);
        }
    }

    /// Counts one answer to the oldest request in flight; returns false
    /// when none was in flight (an answer nobody asked for).
    fn count(
        in_flight: &mut VecDeque<Sent>,
        tally: &mut Tally,
        plan: &Plan,
        answer: Answer,
    ) -> bool {
        let Some(sent) = in_flight.pop_front() else {
            return false;
        };
        match answer {
            Answer::Ok(bytes) => tally.complete(plan, Instant::now(), sent.intended, bytes),
            Answer::Failed => tally.errors.status += 1,
        }
        true
    }

    /// The connection cannot go on: count it, forget it, close it.
    fn give_up(&mut self, io: &mut Io<LoadTimer>, id: ConnId) {
        self.tally.errors.mismatch += 1;
        self.conns.remove(id);
        io.close(id, CloseReason::Requested);
    }
}

impl<E: Exchange> Generator for RequestLoad<E> {
    fn new(plan: Plan, tally: Tally) -> Self {
        RequestLoad {
            exchange: E::new(&plan),
            window: window(plan.size),
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
                in_flight: VecDeque::new(),
                open: false,
                answered: false,
                exchange: E::State::default(),
            });
        arm_timers(io, &self.plan, self.plan.interval.is_some());
    }

    /// Requests still unanswered a second after they were sent, when the
    /// run ends, count as timeouts.
    fn finish(mut self, now: Instant) -> Tally {
        let in_flight = self.conns.iter().flat_map(|conn| &conn.in_flight);
        self.tally.errors.timeout += conns::timeouts(in_flight.map(|sent| &sent.at), now);
        self.tally
    }
}

impl<E: Exchange> Protocol for RequestLoad<E> {
    type Timer = LoadTimer;

    fn on_open(&mut self, io: &mut Io<LoadTimer>, id: ConnId) {
        if let Some(conn) = self.conns.get_mut(id) {
            conn.open = true;
        }
        if self.plan.interval.is_none() {
            self.send(io, id, self.plan.pipeline as u64, Instant::now());
        } else {
            self.tick(io);
        }
    }

    fn on_input(&mut self, io: &mut Io<LoadTimer>, id: ConnId, input: &[u8]) -> usize {
        let Some(conn) = self.conns.get_mut(id) else {
            return input.len();
        };
        let (plan, tally) = (&self.plan, &mut self.tally);
        let (mut answers, mut unsolicited) = (0, false);
        let Conn {
            number,
            in_flight,
            exchange,
            answered,
            ..
        } = conn;
        let unanswered = in_flight.len();
        let read =
            self.exchange
                .read_answers(exchange, *number, unanswered, input, &mut |answer| {
                    answers += 1;
                    unsolicited |= !Self::count(in_flight, tally, plan, answer);
                });
        if answers > 0 && !*answered {
            *answered = true;
            tally.connected += 1;
        }
        match read {
            Ok(used) if !unsolicited => {
                if self.plan.interval.is_none() && answers > 0 {
                    self.send(io, id, answers, Instant::now());
                }
                used
            }
            Ok(_) | Err(Broken::Mismatch) => {
                self.give_up(io, id);
                input.len()
            }
        }
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
