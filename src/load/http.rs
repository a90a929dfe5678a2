//! `--mode http`: `GET /` on keep-alive connections, `--pipeline` deep.
//!
//! Responses are counted by parsing each status line and header block with
//! `httparse::Response` and skipping the `Content-Length` bytes of body
//! that follow; what has not arrived yet is left unconsumed and offered
//! again with the next bytes (the loop keeps it). A status outside 2xx is
//! an error; the response still counts as answered.

use std::collections::VecDeque;
use std::time::Instant;

use crate::event_loop::{CloseReason, ConnId, Io, Protocol};

use super::conns::{self, Conns, Tracked};
use super::tally::{Plan, Tally};
use super::{arm_timers, Generator, LoadTimer};

/// The request every connection sends.
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: reactor-load\r\n\r\n";

/// Headers parsed per response; a response with more is an error.
const MAX_HEADERS: usize = 32;

/// A response head longer than this is not going to complete: an error.
const MAX_HEAD: usize = 64 * 1024;

/// One connection's progress.
#[derive(Debug)]
struct Conn {
    number: u64,
    /// Requests sent so far.
    sent: u64,
    /// Send times (open loop: intended) of requests not answered yet.
    in_flight: VecDeque<Instant>,
    /// Body bytes of the current response still to skip.
    body_left: usize,
    /// Bytes of the current response so far (head and body).
    response_bytes: usize,
    /// Whether the current response's status was 2xx.
    ok: bool,
    open: bool,
}

impl Tracked for Conn {
    fn schedule(&self) -> Option<(u64, u64)> {
        self.open.then_some((self.number, self.sent))
    }
}

/// What one attempt to read a response head found.
enum Head {
    /// A whole head of this many bytes: status and body length.
    Complete(usize, u16, usize),
    /// Not all of it yet.
    Partial,
    /// Not HTTP.
    Invalid,
}

fn parse_head(input: &[u8]) -> Head {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(input) {
        Ok(httparse::Status::Complete(n)) => {
            let length = response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| std::str::from_utf8(h.value).ok())
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            Head::Complete(n, response.code.unwrap_or(0), length)
        }
        Ok(httparse::Status::Partial) if input.len() < MAX_HEAD => Head::Partial,
        Ok(httparse::Status::Partial) | Err(_) => Head::Invalid,
    }
}

/// The HTTP load generator for one loop.
#[derive(Debug)]
pub struct HttpLoad {
    plan: Plan,
    tally: Tally,
    conns: Conns<Conn>,
    out: Vec<u8>,
}

impl HttpLoad {
    /// Sends `count` more requests on `id`, each stamped with when it was
    /// meant to leave (closed loop: `now`).
    fn send(&mut self, io: &mut Io<LoadTimer>, id: ConnId, count: u64, now: Instant) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        self.out.clear();
        for _ in 0..count {
            self.out.extend_from_slice(REQUEST);
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

impl Generator for HttpLoad {
    fn new(plan: Plan, tally: Tally) -> HttpLoad {
        HttpLoad {
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
                body_left: 0,
                response_bytes: 0,
                ok: true,
                open: false,
            });
        arm_timers(io, &self.plan, self.plan.interval.is_some());
    }

    /// Requests still unanswered a second after they were sent, when the
    /// run ends, count as timeouts.
    fn finish(mut self, now: Instant) -> Tally {
        let in_flight = self.conns.iter().flat_map(|conn| &conn.in_flight);
        self.tally.errors.timeout += conns::timeouts(in_flight, now);
        self.tally
    }
}

impl Protocol for HttpLoad {
    type Timer = LoadTimer;

    fn on_open(&mut self, io: &mut Io<LoadTimer>, id: ConnId) {
        self.tally.connected += 1;
        if let Some(conn) = self.conns.get_mut(id) {
            conn.open = true;
        }
        if self.plan.interval.is_none() {
            let now = Instant::now();
            self.send(io, id, self.plan.pipeline as u64, now);
        } else {
            self.tick(io);
        }
    }

    fn on_input(&mut self, io: &mut Io<LoadTimer>, id: ConnId, input: &[u8]) -> usize {
        let now = Instant::now();
        let Some(conn) = self.conns.get_mut(id) else {
            return input.len();
        };
        let mut consumed = 0;
        let mut answered = 0;
        loop {
            if conn.body_left == 0 && conn.response_bytes > 0 {
                // A whole response is in.
                if let Some(sent) = conn.in_flight.pop_front() {
                    if conn.ok {
                        self.tally
                            .complete(&self.plan, now, sent, conn.response_bytes);
                    } else {
                        self.tally.errors.status += 1;
                    }
                }
                conn.response_bytes = 0;
                answered += 1;
            }
            let rest = &input[consumed..];
            if rest.is_empty() {
                break;
            }
            if conn.body_left > 0 {
                let skip = conn.body_left.min(rest.len());
                conn.body_left -= skip;
                conn.response_bytes += skip;
                consumed += skip;
                continue;
            }
            match parse_head(rest) {
                Head::Complete(n, status, length) => {
                    consumed += n;
                    conn.response_bytes = n;
                    conn.body_left = length;
                    conn.ok = (200..300).contains(&status);
                }
                Head::Partial => break,
                Head::Invalid => {
                    self.tally.errors.mismatch += 1;
                    self.conns.remove(id);
                    io.close(id, CloseReason::Requested);
                    return input.len();
                }
            }
        }
        if self.plan.interval.is_none() && answered > 0 {
            self.send(io, id, answered, now);
        }
        consumed
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
    use super::*;

    #[test]
    fn a_head_gives_its_status_and_body_length() {
        let response = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!";
        match parse_head(response) {
            Head::Complete(n, 200, 13) => assert_eq!(n, response.len() - 13),
            _ => panic!("not parsed"),
        }
        assert!(matches!(parse_head(b"HTTP/1.1 200 OK\r\n"), Head::Partial));
        assert!(matches!(parse_head(b"garbage\r\n\r\n"), Head::Invalid));
    }
}
