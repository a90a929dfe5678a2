//! HTTP/1.1 plaintext: the target `wrk`, `ab` and `oha` are pointed at
//! (`docs/reference.md`, "HTTP").
//!
//! This file is the adapter between the loop and HTTP: it keeps one small
//! state machine per connection, hands each read to the responder, sends
//! the batch of answers, and keeps the timers. The HTTP itself lives
//! beside it, with no sockets or clocks:
//!
//! * `exchange.rs`: a connection's bytes in, the batch of answers out;
//! * `request.rs`: a request head, parsed by `httparse`, reduced to what
//!   decides the answer and the connection's fate;
//! * `target.rs`: the request target and the `Host` check;
//! * `response.rs`: responses appended to one shared buffer;
//! * `date.rs`: the `Date` header, formatted once a second;
//! * `timeouts.rs`: which timeout bounds each state, from when.
//!
//! ## One read, one write
//!
//! A client that pipelines sends many requests before reading any answer.
//! `Responder::answer_all` parses *every* complete request in what was read,
//! appends every answer to one buffer, and hands the batch to
//! [`Io::send`]: one `write` for sixteen pipelined requests, not sixteen.
//! Answers go out in request order because they are appended in that order.
//! A head that has not fully arrived is left unconsumed; the loop keeps it
//! and offers it again, with the next bytes in front of it, after the next
//! read.
//!
//! ## Per connection
//!
//! ```text
//!             +------------------ head without body -------------------+
//!             |                                                        v
//!   accept -> ReadingHead --head with body--> DiscardingBody --body--> Idle
//!             ^  |                                                     |
//!             |  +--error / Connection: close--> Closing               |
//!             +--------------- first byte of the next request ---------+
//! ```
//!
//! Any state but `Closing` goes to `Closing` when its timeout runs out.
//!
//! ## Timeouts: no client holds a slot for free
//!
//! Every state but `Closing` waits for the client, and each wait is
//! bounded (`timeouts.rs` has the table and the reasons): a head must end
//! within `--header-timeout` of the accept or of its first byte, a body
//! must not stall for as long (`408` and close, for both), and an idle
//! keep-alive connection is closed quietly after `--keepalive-timeout`.
//! So a silent, slow or idle client holds its slot for a bounded time, and
//! one that opens thousands of connections and sends nothing loses them
//! all within `--header-timeout`.
//!
//! The timers cost nearly nothing per request. A connection keeps its
//! deadline as a plain `Instant`, updated by each read, and owns at most
//! one loop timer ([`HttpTimer::Deadline`]). A deadline that moves later
//! (each keep-alive request pushes it 75 s on) does not touch the timer:
//! when the timer fires early it finds the deadline moved and re-arms
//! for it. Only a deadline that moves *earlier* (a head begun on a
//! connection idle under a longer keep-alive timeout) re-arms at once.
//! So a benchmark's request costs one `Instant` store, not a timer
//! removal and insertion, which is how the loop's own `--idle-timeout`
//! works too.
//!
//! A slowloris client costs only its own slot, then: its unfinished head
//! waits in the loop's pending input, bounded by 8 KiB, until the header
//! timeout ends it.

pub mod date;
pub mod exchange;
pub mod request;
pub mod response;
pub mod target;
pub mod timeouts;

use std::time::{Instant, SystemTime};

use log::{debug, trace};

use crate::event_loop::{CloseReason, ConnId, ConnMap, Io, Origin, Overflow, Protocol, TimerId};
use date::DateCache;
use exchange::{ConnState, Next, Responder};
use response::{StatsView, Status, REFUSAL};
use timeouts::{Expiry, Timeouts};

/// HTTP's timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpTimer {
    /// Refresh the `Date` header: the next second has begun.
    Date,
    /// This connection's deadline may have passed (it may also have moved
    /// later since the timer was set: then the timer is set again).
    Deadline(ConnId),
}

/// The loop's interface, as HTTP sees it.
type HttpIo = Io<HttpTimer>;

/// One connection, as HTTP keeps it.
#[derive(Debug)]
struct HttpConn {
    /// Where it is between requests, and so what it waits for.
    state: ConnState,
    /// When the present wait runs out (`None`: never).
    deadline: Option<Instant>,
    /// The connection's one timer: due no later than `deadline`, often
    /// before it (see "Timeouts" above).
    timer: Option<TimerId>,
}

/// The HTTP/1.1 protocol: per-connection state, the responder, and the
/// timers.
#[derive(Debug)]
pub struct Http {
    /// Per-connection state.
    conns: ConnMap<HttpConn>,
    /// Writes every answer.
    responder: Responder,
    /// Whether the once-a-second `Date` timer is armed. It runs only while
    /// connections are open, so an idle server sleeps in `poll`.
    date_ticking: bool,
    /// `--header-timeout` and `--keepalive-timeout`.
    timeouts: Timeouts,
}

impl Http {
    /// The protocol, bounding each connection's waits by `timeouts`.
    pub fn new(timeouts: Timeouts) -> Http {
        Http {
            conns: ConnMap::new(),
            responder: Responder::new(SystemTime::now()),
            date_ticking: false,
            timeouts,
        }
    }

    /// The one place a connection's HTTP state changes, traced when the
    /// kind of state does.
    fn set_state(&mut self, id: ConnId, state: ConnState) {
        if let Some(conn) = self.conns.get_mut(id) {
            if std::mem::discriminant(&conn.state) != std::mem::discriminant(&state) {
                trace!("conn={id} http {}=>{state}", conn.state);
            }
            conn.state = state;
        }
    }

    /// Sets the connection's deadline, and makes sure a timer is due no
    /// later. A timer due earlier is left alone: when it fires it re-arms
    /// for the deadline. With no deadline, a timer left armed fires once
    /// and does nothing.
    fn set_deadline(&mut self, io: &mut HttpIo, id: ConnId, deadline: Option<Instant>) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        conn.deadline = deadline;
        let Some(deadline) = deadline else {
            return;
        };
        match conn.timer {
            Some(timer) if timer.deadline() <= deadline => return,
            Some(timer) => io.cancel_timer(timer),
            None => {}
        }
        let after = deadline.saturating_duration_since(io.now());
        conn.timer = Some(io.set_timer(after, HttpTimer::Deadline(id)));
    }

    /// Sends what the responder holds and, for [`Next::Close`], closes.
    fn finish_batch(&mut self, io: &mut HttpIo, id: ConnId, next: Next) {
        if !self.responder.out.is_empty() {
            io.send(id, &self.responder.out);
            self.responder.out.clear();
        }
        if next == Next::Close {
            io.close(id, CloseReason::Requested);
        }
    }

    /// Formats the `Date` for this second and arms the timer for the next.
    fn tick(&mut self, io: &mut HttpIo) {
        let now = SystemTime::now();
        self.responder.set_date(now);
        io.set_timer(DateCache::until_next_second(now), HttpTimer::Date);
        self.date_ticking = true;
    }

    /// A connection's timer fired: re-arm it if the deadline moved on,
    /// else end the wait the connection is in.
    fn deadline_timer(&mut self, io: &mut HttpIo, id: ConnId) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        conn.timer = None;
        match conn.deadline {
            None => {}
            Some(deadline) if deadline > io.now() => self.set_deadline(io, id, Some(deadline)),
            Some(_) => self.expire(io, id),
        }
    }

    /// The connection's deadline passed: answer `408` and close, or close
    /// an idle keep-alive connection without a word.
    fn expire(&mut self, io: &mut HttpIo, id: ConnId) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        conn.deadline = None;
        match timeouts::expiry(conn.state) {
            Expiry::RequestTimeout(why) => {
                debug!("conn={id} {why}: 408");
                self.set_state(id, ConnState::Closing);
                self.responder.write_error(Status::RequestTimeout);
                self.finish_batch(io, id, Next::Close);
            }
            Expiry::CloseQuietly => {
                debug!("conn={id} keep-alive timeout");
                self.set_state(id, ConnState::Closing);
                io.close(id, CloseReason::IdleTimeout);
            }
            Expiry::Nothing => {}
        }
    }
}

impl Protocol for Http {
    type Timer = HttpTimer;

    /// A client that pipelines without reading its answers is paused by the
    /// loop until it reads: its own TCP window then slows it down.
    const OVERFLOW: Overflow = Overflow::PauseReading;

    fn on_open(&mut self, io: &mut HttpIo, id: ConnId) {
        let conn = HttpConn {
            state: ConnState::FRESH,
            deadline: None,
            timer: None,
        };
        self.conns.insert(id, conn);
        self.set_deadline(io, id, self.timeouts.on_open(io.now()));
        if !self.date_ticking {
            self.tick(io);
        }
    }

    fn on_input(&mut self, io: &mut HttpIo, id: ConnId, input: &[u8]) -> usize {
        let Some((before, deadline)) = self.conns.get(id).map(|c| (c.state, c.deadline)) else {
            // Not ours (cannot happen: on_open always runs first).
            return input.len();
        };
        let mut state = before;
        let answered_before = self.responder.requests;
        let view = match io.board() {
            Some((board, _)) => StatsView::Workers(board),
            None => StatsView::Loop(io.stats()),
        };
        let (used, next) = self.responder.answer_all(&mut state, input, view);
        let answered = self.responder.requests - answered_before;
        io.count_requests(answered);
        self.set_state(id, state);
        let deadline = self
            .timeouts
            .after_input(deadline, before, state, answered, io.now());
        self.set_deadline(io, id, deadline);
        self.finish_batch(io, id, next);
        used
    }

    fn on_closed(&mut self, io: &mut HttpIo, id: ConnId, _reason: &CloseReason) {
        if let Some(timer) = self.conns.remove(id).and_then(|conn| conn.timer) {
            io.cancel_timer(timer);
        }
    }

    /// A complete `503` with `Connection: close` (see [`REFUSAL`]).
    fn refusal(&self, _origin: Origin) -> &[u8] {
        REFUSAL
    }

    fn on_timer(&mut self, io: &mut HttpIo, timer: HttpTimer) {
        match timer {
            HttpTimer::Date => {
                self.date_ticking = false;
                if io.stats().open > 0 {
                    self.tick(io);
                }
            }
            HttpTimer::Deadline(id) => self.deadline_timer(io, id),
        }
    }
}

#[cfg(test)]
mod tests;
