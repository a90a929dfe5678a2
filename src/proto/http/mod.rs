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
//! * `response.rs`: responses appended to one shared buffer;
//! * `date.rs`: the `Date` header, formatted once a second.
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
//!            +-----------------------------+
//!            v                             | body read
//!   --> ReadingHead --head, with body--> DiscardingBody
//!          |  ^   \
//!          +--+    \--error / Connection: close / header timeout--> Closing
//!    head without body
//! ```
//!
//! A slow client (slowloris) costs only its own slot: its unfinished head
//! waits in the loop's pending input, bounded by 8 KiB, and a protocol
//! timer closes it with `408` if the head is not complete within
//! `--header-timeout`.

pub mod date;
pub mod exchange;
pub mod request;
pub mod response;
pub mod target;

use std::time::{Duration, SystemTime};

use log::{debug, trace};

use crate::event_loop::{CloseReason, ConnId, ConnMap, Io, Overflow, Protocol, TimerId};
use date::DateCache;
use exchange::{ConnState, Next, Responder};
use response::{Status, REFUSAL};

/// HTTP's timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpTimer {
    /// Refresh the `Date` header: the next second has begun.
    Date,
    /// This connection's request head did not end within `--header-timeout`.
    Header(ConnId),
}

/// The loop's interface, as HTTP sees it.
type HttpIo = Io<HttpTimer>;

/// One connection, as HTTP keeps it.
#[derive(Debug)]
struct HttpConn {
    /// Where it is between requests.
    state: ConnState,
    /// The `--header-timeout` timer, armed while a head is unfinished.
    header_timer: Option<TimerId>,
}

/// The HTTP/1.1 protocol: per-connection state, the responder, and the
/// `Date` timer.
#[derive(Debug)]
pub struct Http {
    /// Per-connection state.
    conns: ConnMap<HttpConn>,
    /// Writes every answer.
    responder: Responder,
    /// Whether the once-a-second `Date` timer is armed. It runs only while
    /// connections are open, so an idle server sleeps in `poll`.
    date_ticking: bool,
    /// `--header-timeout`: how long a begun head may take to end.
    header_timeout: Option<Duration>,
}

impl Http {
    /// The protocol, closing heads unfinished after `header_timeout`
    /// (`None`: never).
    pub fn new(header_timeout: Option<Duration>) -> Http {
        Http {
            conns: ConnMap::new(),
            responder: Responder::new(SystemTime::now()),
            date_ticking: false,
            header_timeout,
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

    /// Arms the header timer while a head is unfinished, and disarms it
    /// once the head has ended (or the connection is closing).
    fn watch_head(&mut self, io: &mut HttpIo, id: ConnId) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        match (conn.state.head_unfinished(), conn.header_timer) {
            (true, None) => {
                conn.header_timer = self
                    .header_timeout
                    .map(|after| io.set_timer(after, HttpTimer::Header(id)));
            }
            (false, Some(timer)) => {
                io.cancel_timer(timer);
                conn.header_timer = None;
            }
            (true, Some(_)) | (false, None) => {}
        }
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

    /// A connection's header timeout fired: its head is still unfinished
    /// (a head that ended cancelled the timer).
    fn header_timeout(&mut self, io: &mut HttpIo, id: ConnId) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        conn.header_timer = None;
        let ConnState::ReadingHead { scanned } = conn.state else {
            return;
        };
        debug!("conn={id} head unfinished after {scanned} B: header timeout");
        self.set_state(id, ConnState::Closing);
        self.responder.write_error(Status::RequestTimeout);
        self.finish_batch(io, id, Next::Close);
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
            header_timer: None,
        };
        self.conns.insert(id, conn);
        if !self.date_ticking {
            self.tick(io);
        }
    }

    fn on_input(&mut self, io: &mut HttpIo, id: ConnId, input: &[u8]) -> usize {
        let Some(mut state) = self.conns.get(id).map(|conn| conn.state) else {
            // Not ours (cannot happen: on_open always runs first).
            return input.len();
        };
        let (used, next) = self.responder.answer_all(&mut state, input, io.stats());
        self.set_state(id, state);
        self.watch_head(io, id);
        self.finish_batch(io, id, next);
        used
    }

    fn on_closed(&mut self, io: &mut HttpIo, id: ConnId, _reason: &CloseReason) {
        if let Some(timer) = self.conns.remove(id).and_then(|conn| conn.header_timer) {
            io.cancel_timer(timer);
        }
    }

    /// A complete `503` with `Connection: close` (see [`REFUSAL`]).
    fn refusal(&self) -> &[u8] {
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
            HttpTimer::Header(id) => self.header_timeout(io, id),
        }
    }
}

#[cfg(test)]
mod tests;
