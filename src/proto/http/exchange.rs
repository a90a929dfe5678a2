//! One connection's requests in, the batch of answers out: HTTP without
//! sockets, timers or clocks.
//!
//! [`Responder::answer_all`] takes the bytes a read produced and the
//! connection's [`ConnState`], answers every complete request in them
//! into one buffer, and says how many bytes it used and whether the
//! connection stays open. It never touches the loop, so its tests
//! (`tests.rs`) are plain function calls; `mod.rs` is the adapter that
//! sends the batch and keeps the timers.

use std::fmt;
use std::time::SystemTime;

use log::debug;

use super::date::DateCache;
use super::request::{self, Method, Request, RequestError, Version};
use super::response::{write_stats_json, Connection, Response, StatsView, Status, CONTINUE};

/// The body of `GET /`.
const HELLO: &[u8] = b"Hello, World!";

/// Where one connection is between requests. Each state is also what
/// the connection waits for, and so which timeout bounds it (`mod.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// A new connection's first request, or a later one whose first byte
    /// (an empty line counts) has arrived, until its head ends.
    /// `scanned` says how many bytes of the head, empty lines aside, were
    /// already searched for its end.
    ReadingHead {
        /// Bytes of the unfinished head already searched.
        scanned: usize,
    },
    /// Keep-alive: every request so far is answered and its body read,
    /// and no byte of the next one has arrived.
    Idle,
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
    /// A new connection, or a next request whose first byte just came:
    /// waiting for a head, none of it searched yet.
    pub const FRESH: ConnState = ConnState::ReadingHead { scanned: 0 };
}

impl fmt::Display for ConnState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnState::ReadingHead { .. } => "ReadingHead",
            ConnState::Idle => "Idle",
            ConnState::DiscardingBody { .. } => "DiscardingBody",
            ConnState::Closing => "Closing",
        })
    }
}

/// What the rest of a batch does to the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Keep it open for the next request.
    KeepOpen,
    /// Close it once the batch is sent.
    Close,
}

/// What one step through the input did.
enum Step {
    /// Consumed this many more bytes; go on.
    Continue(usize),
    /// Consumed this many more bytes; wait for more input.
    Wait(usize),
    /// An answer ends the connection: everything is consumed.
    Close,
}

/// Writes the answers: one buffer for the batch being answered, shared by
/// every connection (the loop is single-threaded), and what every answer
/// needs (the `Date`, the prepared `GET /` answer, the request count).
#[derive(Debug)]
pub struct Responder {
    /// The answers of the batch being built; sent and cleared by the caller.
    pub out: Vec<u8>,
    /// The `GET /stats` body being built; reused.
    json: Vec<u8>,
    /// The `Date` header's current value.
    date: DateCache,
    /// The whole answer to a keep-alive `GET /`, rebuilt whenever the
    /// `Date` changes: the answer nearly every benchmark request gets then
    /// costs one copy, as in a minimal C server.
    hello: Vec<u8>,
    /// Requests answered, for `GET /stats`.
    pub requests: u64,
}

impl Responder {
    /// A responder showing `now` as the date.
    pub fn new(now: SystemTime) -> Responder {
        let mut responder = Responder {
            out: Vec::new(),
            json: Vec::new(),
            date: DateCache::new(now),
            hello: Vec::new(),
            requests: 0,
        };
        responder.set_date(now);
        responder
    }

    /// Shows `now` in the `Date` header, and rebuilds the prepared answer
    /// to `GET /` with it.
    pub fn set_date(&mut self, now: SystemTime) {
        self.date.refresh(now);
        self.hello.clear();
        self.response(Status::Ok, "text/plain", HELLO, Connection::Default)
            .write_to(&mut self.hello, self.date.get());
    }

    /// The `Date` header's current value.
    pub fn date(&self) -> &[u8] {
        self.date.get()
    }

    /// Answers every complete request at the start of `input`, appending
    /// the answers to [`out`](Responder::out). Returns the bytes consumed
    /// and whether the connection stays open; `state` moves on.
    pub fn answer_all(
        &mut self,
        state: &mut ConnState,
        input: &[u8],
        stats: StatsView<'_>,
    ) -> (usize, Next) {
        let mut used = 0;
        loop {
            let rest = &input[used..];
            let step = match *state {
                ConnState::Closing => Step::Close,
                ConnState::Idle if rest.is_empty() => Step::Wait(0),
                ConnState::Idle => {
                    // A byte of the next request: its head has begun.
                    *state = ConnState::FRESH;
                    Step::Continue(0)
                }
                ConnState::DiscardingBody { left } => {
                    let take = left.min(rest.len() as u64);
                    if take < left {
                        *state = ConnState::DiscardingBody { left: left - take };
                        Step::Wait(take as usize)
                    } else {
                        *state = ConnState::Idle;
                        Step::Continue(take as usize)
                    }
                }
                ConnState::ReadingHead { scanned } => self.read_head(state, rest, scanned, stats),
            };
            match step {
                Step::Continue(n) => used += n,
                Step::Wait(n) => return (used + n, Next::KeepOpen),
                Step::Close => {
                    *state = ConnState::Closing;
                    return (input.len(), Next::Close);
                }
            }
        }
    }

    /// Reads one request head at the start of `rest` and answers it.
    fn read_head(
        &mut self,
        state: &mut ConnState,
        rest: &[u8],
        scanned: usize,
        stats: StatsView<'_>,
    ) -> Step {
        // Empty lines before a request line are ignored (RFC 9112 section
        // 2.2; some clients send one after a body), not kept as the start
        // of a head.
        let blank = match scanned {
            0 => rest
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count(),
            _ => 0,
        };
        let head = &rest[blank..];
        if head.is_empty() {
            return Step::Wait(blank);
        }
        match request::parse(head, scanned) {
            Ok(Some(req)) => {
                if self.answer(&req, stats) == Next::Close {
                    return Step::Close;
                }
                *state = match req.body_len {
                    0 => ConnState::Idle,
                    left => ConnState::DiscardingBody { left },
                };
                Step::Continue(blank + req.head_len)
            }
            Ok(None) => {
                *state = ConnState::ReadingHead {
                    scanned: head.len(),
                };
                Step::Wait(blank)
            }
            Err(e) => {
                let status = match e {
                    RequestError::BadRequest(_) => Status::BadRequest,
                    RequestError::TooLarge(_) => Status::HeadersTooLarge,
                    RequestError::NotImplemented(_) => Status::NotImplemented,
                };
                debug!("answered {status:?}: {e}");
                self.requests += 1;
                self.write_error(status);
                Step::Close
            }
        }
    }

    /// Appends the answer to one request; says whether the connection
    /// stays open after it.
    fn answer(&mut self, req: &Request, stats: StatsView<'_>) -> Next {
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
                write_stats_json(&mut self.json, stats, self.requests);
                (Status::Ok, "application/json", &self.json[..])
            }
            _ => (
                Status::NotFound,
                "text/plain",
                Status::NotFound.reason_body(),
            ),
        };
        let response = Response {
            head_only,
            ..self.response(status, content_type, body, connection)
        };
        response.write_to(&mut self.out, self.date.get());
        next
    }

    /// Appends an error answer, which always closes.
    pub fn write_error(&mut self, status: Status) {
        let body = status.reason_body();
        let response = self.response(status, "text/plain", body, Connection::Close);
        response.write_to(&mut self.out, self.date.get());
    }

    /// A response with a body (not for `HEAD`).
    fn response<'a>(
        &self,
        status: Status,
        content_type: &'static str,
        body: &'a [u8],
        connection: Connection,
    ) -> Response<'a> {
        Response {
            status,
            content_type,
            body,
            connection,
            head_only: false,
        }
    }
}
