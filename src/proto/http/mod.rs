//! HTTP/1.1 plaintext: the target `wrk`, `ab` and `oha` are pointed at
//! (SPEC section 6).
//!
//! This file is the adapter between the loop and HTTP: it keeps one small
//! state machine per connection and turns each read into one batch of
//! responses. The HTTP itself lives beside it:
//!
//! * `request.rs`: a request head, parsed by `httparse`, reduced to what
//!   decides the answer and the connection's fate;
//! * `response.rs`: responses appended to one shared buffer;
//! * `date.rs`: the `Date` header, formatted once a second.
//!
//! ## One read, one write
//!
//! A client that pipelines sends many requests before reading any answer.
//! [`Http::on_input`] parses *every* complete request in what was read,
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
pub mod request;
pub mod response;

use std::fmt;
use std::time::{Duration, SystemTime};

use log::{debug, trace};

use crate::event_loop::{CloseReason, ConnId, ConnMap, Io, Overflow, Protocol, TimerId};
use date::DateCache;
use request::{Method, Request, RequestError, Version};
use response::{write_stats_json, Connection, Response, Status, CONTINUE};

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

/// The body of `GET /`.
const HELLO: &[u8] = b"Hello, World!";

/// Where one connection is between requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnState {
    /// Waiting for a request head. While one has begun but not ended,
    /// `scanned` says how many of its bytes were already searched for its
    /// end, and `timer` is its header timeout.
    ReadingHead {
        /// Bytes of the unfinished head already searched (0: none yet).
        scanned: usize,
        /// The `--header-timeout` timer, armed while a head is unfinished.
        timer: Option<TimerId>,
    },
    /// A request was answered; `left` bytes of its body are still to be
    /// read and dropped before the next head starts.
    DiscardingBody {
        /// Body bytes still to come.
        left: u64,
    },
    /// A response that ends the connection was sent; the loop is closing it.
    Closing,
}

impl ConnState {
    /// Ready for a fresh head.
    const FRESH: ConnState = ConnState::ReadingHead {
        scanned: 0,
        timer: None,
    };
}

impl fmt::Display for ConnState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnState::ReadingHead { .. } => "ReadingHead",
            ConnState::DiscardingBody { .. } => "DiscardingBody",
            ConnState::Closing => "Closing",
        })
    }
}

/// What the rest of a batch does to the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Keep it open for the next request.
    KeepOpen,
    /// Close it once the batch is sent.
    Close,
}

/// The HTTP/1.1 protocol: per-connection state, the shared response buffer
/// and the `Date` cache.
#[derive(Debug)]
pub struct Http {
    /// Per-connection state.
    conns: ConnMap<ConnState>,
    /// The responses of the batch being answered; reused for every batch.
    out: Vec<u8>,
    /// The `GET /stats` body being built; reused.
    json: Vec<u8>,
    /// The `Date` header's current value.
    date: DateCache,
    /// The whole answer to a keep-alive `GET /`, rebuilt whenever the
    /// `Date` changes: the answer nearly every benchmark request gets then
    /// costs one copy, as in the C floor.
    hello: Vec<u8>,
    /// Whether the once-a-second `Date` timer is armed. It runs only while
    /// connections are open, so an idle server sleeps in `poll`.
    date_ticking: bool,
    /// Requests answered, for `GET /stats`.
    requests: u64,
    /// `--header-timeout`: how long a begun head may take to end.
    header_timeout: Option<Duration>,
}

impl Http {
    /// The protocol, closing heads unfinished after `header_timeout`
    /// (`None`: never).
    pub fn new(header_timeout: Option<Duration>) -> Http {
        let now = SystemTime::now();
        let mut http = Http {
            conns: ConnMap::new(),
            out: Vec::new(),
            json: Vec::new(),
            date: DateCache::new(now),
            hello: Vec::new(),
            date_ticking: false,
            requests: 0,
            header_timeout,
        };
        http.set_date(now);
        http
    }

    /// Shows `now` in the `Date` header, and rebuilds the prepared answer
    /// to `GET /` with it.
    fn set_date(&mut self, now: SystemTime) {
        self.date.refresh(now);
        self.hello.clear();
        let hello = Response {
            status: Status::Ok,
            content_type: "text/plain",
            body: HELLO,
            connection: Connection::Default,
            head_only: false,
        };
        hello.write_to(&mut self.hello, self.date.get());
    }

    /// The state of `id`, if the slot still holds it.
    fn state(&self, id: ConnId) -> Option<ConnState> {
        self.conns.get(id).copied()
    }

    /// The one place a connection's state changes, traced when the kind of
    /// state does.
    fn set_state(&mut self, id: ConnId, state: ConnState) {
        if let Some(slot) = self.conns.get_mut(id) {
            if std::mem::discriminant(slot) != std::mem::discriminant(&state) {
                trace!("conn={id} http {slot}=>{state}");
            }
            *slot = state;
        }
    }

    /// Answers every complete request at the start of `input`, appending the
    /// answers to `self.out`. Returns the bytes consumed and whether the
    /// connection stays open.
    fn answer_all(
        &mut self,
        io: &mut HttpIo,
        id: ConnId,
        state: &mut ConnState,
        input: &[u8],
    ) -> (usize, Next) {
        let mut used = 0;
        loop {
            let rest = &input[used..];
            match *state {
                ConnState::Closing => return (input.len(), Next::Close),
                ConnState::DiscardingBody { left } => {
                    let take = left.min(rest.len() as u64);
                    used += take as usize;
                    if take < left {
                        *state = ConnState::DiscardingBody { left: left - take };
                        return (used, Next::KeepOpen);
                    }
                    *state = ConnState::FRESH;
                }
                ConnState::ReadingHead { scanned, timer } => {
                    // Empty lines before a request line are ignored (RFC
                    // 9112 section 2.2; some clients send one after a
                    // body), rather than kept as the start of a head.
                    let blank = match scanned {
                        0 => rest
                            .iter()
                            .take_while(|b| matches!(b, b'\r' | b'\n'))
                            .count(),
                        _ => 0,
                    };
                    used += blank;
                    let rest = &rest[blank..];
                    if rest.is_empty() {
                        return (used, Next::KeepOpen);
                    }
                    match request::parse(rest, scanned) {
                        Ok(Some(req)) => {
                            if let Some(timer) = timer {
                                io.cancel_timer(timer);
                            }
                            used += req.head_len;
                            if self.answer(io, &req) == Next::Close {
                                *state = ConnState::Closing;
                                return (input.len(), Next::Close);
                            }
                            *state = match req.body_len {
                                0 => ConnState::FRESH,
                                left => ConnState::DiscardingBody { left },
                            };
                        }
                        Ok(None) => {
                            let timer = timer.or_else(|| {
                                let after = self.header_timeout?;
                                Some(io.set_timer(after, HttpTimer::Header(id)))
                            });
                            let scanned = rest.len();
                            *state = ConnState::ReadingHead { scanned, timer };
                            return (used, Next::KeepOpen);
                        }
                        Err(e) => {
                            if let Some(timer) = timer {
                                io.cancel_timer(timer);
                            }
                            let status = match e {
                                RequestError::BadRequest(_) => Status::BadRequest,
                                RequestError::TooLarge(_) => Status::HeadersTooLarge,
                                RequestError::NotImplemented(_) => Status::NotImplemented,
                            };
                            debug!("conn={id} answered {status:?}: {e}");
                            self.requests += 1;
                            self.write_error(status);
                            *state = ConnState::Closing;
                            return (input.len(), Next::Close);
                        }
                    }
                }
            }
        }
    }

    /// Appends the answer to one request; says whether the connection
    /// stays open after it.
    fn answer(&mut self, io: &HttpIo, req: &Request) -> Next {
        self.requests += 1;
        let (next, connection) = match (req.keep_alive, req.version) {
            (true, Version::Http11) => (Next::KeepOpen, Connection::Default),
            (true, Version::Http10) => (Next::KeepOpen, Connection::KeepAlive),
            (false, _) => (Next::Close, Connection::Close),
        };
        if req.expect_continue && req.body_len > 0 {
            self.out.extend_from_slice(CONTINUE);
        }
        let head_only = req.method == Method::Head;
        let (status, content_type, body) = match req.path {
            "/" if connection == Connection::Default && !head_only => {
                self.out.extend_from_slice(&self.hello);
                return next;
            }
            "/" => (Status::Ok, "text/plain", HELLO),
            "/stats" => {
                self.json.clear();
                write_stats_json(&mut self.json, io.stats(), self.requests);
                (Status::Ok, "application/json", &self.json[..])
            }
            _ => (
                Status::NotFound,
                "text/plain",
                Status::NotFound.reason_body(),
            ),
        };
        let response = Response {
            status,
            content_type,
            body,
            connection,
            head_only,
        };
        response.write_to(&mut self.out, self.date.get());
        next
    }

    /// Appends an error answer, which always closes.
    fn write_error(&mut self, status: Status) {
        let response = Response {
            status,
            content_type: "text/plain",
            body: status.reason_body(),
            connection: Connection::Close,
            head_only: false,
        };
        response.write_to(&mut self.out, self.date.get());
    }

    /// Sends what `self.out` holds and, for [`Next::Close`], closes.
    fn finish_batch(&mut self, io: &mut HttpIo, id: ConnId, next: Next) {
        if !self.out.is_empty() {
            io.send(id, &self.out);
            self.out.clear();
        }
        if next == Next::Close {
            io.close(id, CloseReason::Requested);
        }
    }

    /// Formats the `Date` for this second and arms the timer for the next.
    fn tick(&mut self, io: &mut HttpIo) {
        let now = SystemTime::now();
        self.set_date(now);
        io.set_timer(DateCache::until_next_second(now), HttpTimer::Date);
        self.date_ticking = true;
    }

    /// A connection's header timeout fired.
    fn header_timeout(&mut self, io: &mut HttpIo, id: ConnId) {
        // Only if the same connection still has the same unfinished head:
        // a head that ended cancelled its timer, and a new head arms its own.
        let Some(ConnState::ReadingHead {
            timer: Some(_),
            scanned,
        }) = self.state(id)
        else {
            return;
        };
        debug!("conn={id} head unfinished after {scanned} B: header timeout");
        self.set_state(id, ConnState::Closing);
        self.write_error(Status::RequestTimeout);
        self.finish_batch(io, id, Next::Close);
    }
}

impl Protocol for Http {
    type Timer = HttpTimer;

    /// A client that pipelines without reading its answers is paused by the
    /// loop until it reads: its own TCP window then slows it down.
    const OVERFLOW: Overflow = Overflow::PauseReading;

    fn on_open(&mut self, io: &mut HttpIo, id: ConnId) {
        self.conns.insert(id, ConnState::FRESH);
        if !self.date_ticking {
            self.tick(io);
        }
    }

    fn on_input(&mut self, io: &mut HttpIo, id: ConnId, input: &[u8]) -> usize {
        let Some(mut state) = self.state(id) else {
            // Not ours (cannot happen: on_open always runs first).
            return input.len();
        };
        let (used, next) = self.answer_all(io, id, &mut state, input);
        self.set_state(id, state);
        self.finish_batch(io, id, next);
        used
    }

    fn on_closed(&mut self, io: &mut HttpIo, id: ConnId, _reason: &CloseReason) {
        if let Some(ConnState::ReadingHead {
            timer: Some(timer), ..
        }) = self.state(id)
        {
            io.cancel_timer(timer);
        }
        self.conns.remove(id);
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
