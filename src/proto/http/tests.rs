//! HTTP's exchanges without sockets, clocks or a loop: input in, the batch
//! of answers and the next state out. Only `Responder` and `ConnState` are
//! involved; nothing here opens an OS handle.

use std::error::Error;
use std::time::SystemTime;

use super::exchange::{ConnState, Next, Responder};
use super::response::StatsView;
use crate::event_loop::Stats;

/// One connection's view of the responder.
struct Harness {
    responder: Responder,
    state: ConnState,
}

impl Harness {
    fn new() -> Harness {
        Harness {
            responder: Responder::new(SystemTime::now()),
            state: ConnState::FRESH,
        }
    }

    /// Offers `input` as the loop would; returns bytes consumed, whether
    /// the connection stays open, and the answers.
    fn feed(&mut self, input: &[u8]) -> Result<(usize, Next, String), Box<dyn Error>> {
        let (used, next) =
            self.responder
                .answer_all(&mut self.state, input, StatsView::Loop(&Stats::default()));
        let out = String::from_utf8(std::mem::take(&mut self.responder.out))?;
        Ok((used, next, out))
    }

    /// The exact answer with the cached date.
    fn answer(&self, status: &str, body: &str, connection: &str) -> Result<String, Box<dyn Error>> {
        let date = std::str::from_utf8(self.responder.date())?;
        Ok(format!(
            "HTTP/1.1 {status}\r\nServer: reactor\r\nDate: {date}\r\nContent-Type: text/plain\r\n\
             Content-Length: {}\r\n{connection}\r\n{body}",
            body.len()
        ))
    }
}

/// What a test returns: any error fails it.
type TestResult = Result<(), Box<dyn Error>>;

const GET: &str = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

#[test]
fn pipelined_requests_get_every_answer_in_order_in_one_batch() -> TestResult {
    let mut h = Harness::new();
    let input = format!("{GET}GET /missing HTTP/1.1\r\nHost: t\r\n\r\n{GET}");
    let (used, next, out) = h.feed(input.as_bytes())?;
    assert_eq!((used, next), (input.len(), Next::KeepOpen));
    let hello = h.answer("200 OK", "Hello, World!", "")?;
    let missing = h.answer("404 Not Found", "Not Found\n", "")?;
    assert_eq!(out, format!("{hello}{missing}{hello}"));
    assert_eq!(h.responder.requests, 3);
    Ok(())
}

#[test]
fn an_unfinished_head_is_left_unconsumed_and_marked_unfinished() -> TestResult {
    let mut h = Harness::new();
    let (used, next, out) = h.feed(b"GET / HT")?;
    assert_eq!((used, next, out.as_str()), (0, Next::KeepOpen, ""));
    assert_eq!(h.state, ConnState::ReadingHead { scanned: 8 });
    // The loop offers it again with the rest behind it.
    let (used, _, out) = h.feed(GET.as_bytes())?;
    assert_eq!(used, GET.len());
    assert_eq!(out, h.answer("200 OK", "Hello, World!", "")?);
    assert_eq!(h.state, ConnState::Idle, "keep-alive, not a head");
    Ok(())
}

#[test]
fn a_body_is_discarded_across_reads_then_the_next_request_is_answered() -> TestResult {
    let mut h = Harness::new();
    let post = "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0123";
    let (used, _, out) = h.feed(post.as_bytes())?;
    assert_eq!(used, post.len());
    assert_eq!(out, h.answer("404 Not Found", "Not Found\n", "")?);
    assert_eq!(h.state, ConnState::DiscardingBody { left: 6 });
    let rest = format!("456789{GET}");
    let (used, _, out) = h.feed(rest.as_bytes())?;
    assert_eq!(used, rest.len());
    assert_eq!(out, h.answer("200 OK", "Hello, World!", "")?);
    Ok(())
}

#[test]
fn nothing_after_a_closing_answer_is_parsed() -> TestResult {
    let mut h = Harness::new();
    let input = format!("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n{GET}");
    let (used, next, out) = h.feed(input.as_bytes())?;
    assert_eq!((used, next), (input.len(), Next::Close));
    assert_eq!(
        out,
        h.answer("200 OK", "Hello, World!", "Connection: close\r\n")?
    );
    assert_eq!(h.state, ConnState::Closing);
    Ok(())
}

#[test]
fn errors_answer_and_close() -> TestResult {
    for (input, status) in [
        ("NOT HTTP\r\n\r\n", "400 Bad Request"),
        (
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n",
            "501 Not Implemented",
        ),
    ] {
        let mut h = Harness::new();
        let (used, next, out) = h.feed(format!("{GET}{input}{GET}").as_bytes())?;
        assert_eq!(next, Next::Close);
        assert_eq!(used, GET.len() * 2 + input.len());
        let reason = status.split_once(' ').map(|(_, r)| r).unwrap_or_default();
        let hello = h.answer("200 OK", "Hello, World!", "")?;
        let error = h.answer(status, &format!("{reason}\n"), "Connection: close\r\n")?;
        assert_eq!(out, format!("{hello}{error}"));
    }
    Ok(())
}

#[test]
fn http_1_0_head_and_expect_continue() -> TestResult {
    let mut h = Harness::new();
    let (_, next, out) = h.feed(b"HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")?;
    assert_eq!(next, Next::KeepOpen);
    let full = h.answer("200 OK", "Hello, World!", "Connection: keep-alive\r\n")?;
    assert_eq!(out, full.trim_end_matches("Hello, World!"));

    let (_, _, out) =
        h.feed(b"POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n")?;
    assert!(out.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"));
    Ok(())
}

#[test]
fn empty_lines_between_requests_are_skipped_not_kept() -> TestResult {
    let mut h = Harness::new();
    let input = format!("\r\n{GET}\r\n");
    let (used, next, out) = h.feed(input.as_bytes())?;
    assert_eq!((used, next), (input.len(), Next::KeepOpen));
    assert_eq!(out, h.answer("200 OK", "Hello, World!", "")?);
    // Yet the trailing empty line began the next request: no longer idle.
    assert_eq!(h.state, ConnState::FRESH);
    Ok(())
}

#[test]
fn a_connection_is_idle_only_between_requests() -> TestResult {
    let mut h = Harness::new();
    assert_eq!(h.state, ConnState::FRESH, "a new connection awaits a head");
    h.feed(GET.as_bytes())?;
    assert_eq!(h.state, ConnState::Idle);
    // Nothing read leaves it idle; a byte of the next request does not.
    assert_eq!(h.feed(b"")?.0, 0);
    assert_eq!(h.state, ConnState::Idle);
    h.feed(b"G")?;
    assert_eq!(h.state, ConnState::ReadingHead { scanned: 1 });

    let mut h = Harness::new();
    let post = "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nab";
    h.feed(post.as_bytes())?;
    assert_eq!(h.state, ConnState::DiscardingBody { left: 1 });
    h.feed(b"c")?;
    assert_eq!(h.state, ConnState::Idle, "idle once the body is read");
    Ok(())
}

#[test]
fn absolute_form_and_host_checks() -> TestResult {
    let mut h = Harness::new();
    let (_, next, out) = h.feed(b"GET http://t/ HTTP/1.1\r\nHost: t\r\n\r\n")?;
    assert_eq!(next, Next::KeepOpen);
    assert_eq!(out, h.answer("200 OK", "Hello, World!", "")?);
    for bad in [
        &b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
    ] {
        let mut h = Harness::new();
        let (_, next, out) = h.feed(bad)?;
        assert_eq!(next, Next::Close);
        let error = h.answer("400 Bad Request", "Bad Request\n", "Connection: close\r\n")?;
        assert_eq!(out, error);
    }
    Ok(())
}
