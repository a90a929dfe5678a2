//! Clients that are silent, slow or idle: each is let go within its
//! timeout, and not before it (`docs/reference.md`, "Timeouts").
//!
//! Every wait here is a read with a timeout. The server's timeouts are
//! one or two seconds; a read gives up after [`BOUND`], so a server whose
//! timeout ran ten times too long fails the test instead of hanging it,
//! and each answer is checked to come no earlier than its timeout and
//! within [`SLACK`] times it. Where the test plays a slow client, the
//! pace of its bytes is set by a read that waits for an answer between
//! them: any answer ends the drip at once.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::client::Client;
use crate::common::Server;
use crate::GET;

/// Longest any one read waits: a failure bound, never reached when the
/// server keeps its timeouts.
const BOUND: Duration = Duration::from_secs(8);

/// An answer may come this many times its timeout after the start of the
/// wait, at most (a loaded machine is slow, but not three times slow).
const SLACK: u32 = 3;

/// The time between a slow client's bytes.
const PACE: Duration = Duration::from_millis(250);

const TIMEOUT_408: &str = "HTTP/1.1 408 Request Timeout\r\n";

/// A raw connection whose reads give up after [`BOUND`].
fn connect(server: &Server) -> TcpStream {
    let stream = server.connect();
    stream.set_read_timeout(Some(BOUND)).expect("timeout");
    stream.set_nodelay(true).expect("nodelay");
    stream
}

/// Reads until the server closes: everything it sent, and when the first
/// of it (or the end, if it sent nothing) arrived.
fn read_until_closed(stream: &mut TcpStream) -> (Vec<u8>, Instant) {
    stream.set_read_timeout(Some(BOUND)).expect("timeout");
    let mut all = Vec::new();
    let mut first = None;
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return (all, first.unwrap_or_else(Instant::now)),
            Ok(n) => {
                first.get_or_insert_with(Instant::now);
                all.extend_from_slice(&chunk[..n]);
            }
            Err(e) => panic!("no close within {BOUND:?}: {e}; got {all:?}"),
        }
    }
}

/// How a drip ended.
#[derive(Debug, PartialEq)]
enum Drip {
    /// The server answered (and closed): what it sent, and when.
    Answered(Vec<u8>, Instant),
    /// Every chunk was sent without an answer; the last one at this time.
    Unanswered(Instant),
}

/// Sends `chunk` every [`PACE`], `count` times, unless the server answers
/// or closes first.
fn drip(stream: &mut TcpStream, chunk: &[u8], count: usize) -> Drip {
    stream.set_read_timeout(Some(PACE)).expect("timeout");
    let mut byte = [0u8; 1];
    let mut last_sent = Instant::now();
    for _ in 0..count {
        stream.write_all(chunk).expect("drip");
        last_sent = Instant::now();
        match stream.read(&mut byte) {
            Ok(n) => {
                let at = Instant::now();
                let (mut rest, _) = read_until_closed(stream);
                rest.splice(0..0, byte[..n].iter().copied());
                return Drip::Answered(rest, at);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("while dripping: {e}"),
        }
    }
    Drip::Unanswered(last_sent)
}

/// Asserts an answer came `timeout` or later after `since`, and within
/// [`SLACK`] times it.
fn assert_timely(since: Instant, at: Instant, timeout: Duration) {
    let waited = at.duration_since(since);
    assert!(waited >= timeout, "after {waited:?}, before {timeout:?}");
    assert!(
        waited < timeout * SLACK,
        "after {waited:?}, for {timeout:?}"
    );
}

/// Asserts the server sends nothing, and does not close, for `spell`.
fn assert_silent_for(stream: &mut TcpStream, spell: Duration) {
    stream.set_read_timeout(Some(spell)).expect("timeout");
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("within {spell:?} of idleness: {other:?}, {byte:?}"),
    }
    stream.set_read_timeout(Some(BOUND)).expect("timeout");
}

/// Asserts `got` is exactly one `408` that says it closes.
fn assert_408(got: &[u8]) {
    let text = String::from_utf8_lossy(got);
    assert!(text.starts_with(TIMEOUT_408), "{text:?}");
    assert!(text.contains("\r\nConnection: close\r\n"), "{text:?}");
    assert_eq!(text.matches("HTTP/1.1").count(), 1, "{text:?}");
}

const ONE: Duration = Duration::from_secs(1);
const TWO: Duration = Duration::from_secs(2);

#[test]
fn a_connection_that_sends_nothing_gets_408_a_header_timeout_after_the_accept() {
    let server = Server::start(&["http", "--header-timeout", "1"]);
    let started = Instant::now();
    let mut silent = connect(&server);
    let (got, at) = read_until_closed(&mut silent);
    assert_408(&got);
    assert_timely(started, at, ONE);
}

#[test]
fn empty_lines_dripped_on_a_new_connection_do_not_extend_its_header_timeout() {
    let server = Server::start(&["http", "--header-timeout", "1"]);
    let started = Instant::now();
    let mut dripping = connect(&server);
    let Drip::Answered(got, at) = drip(&mut dripping, b"\r\n", 40) else {
        panic!("no answer while dripping");
    };
    assert_408(&got);
    assert_timely(started, at, ONE);
}

#[test]
fn a_head_begun_on_a_kept_connection_gets_the_header_timeout_from_its_first_byte() {
    // The keep-alive timeout is long: the head's deadline is earlier than
    // the one the connection had while idle.
    let server = Server::start(&["http", "--header-timeout", "1", "--keepalive-timeout", "60"]);
    let mut client = Client::new(&server);
    client.send(GET);
    assert_eq!(client.answer().status(), "HTTP/1.1 200 OK");
    // Idle for longer than the header timeout: that is keep-alive, and
    // nothing comes (this read is the idle spell, not a synchronisation).
    assert_silent_for(&mut client.stream, ONE * 3 / 2);
    let began = Instant::now();
    client.send(b"\r\nGET / HTTP/1.1\r\nHost: te");
    let (got, at) = read_until_closed(&mut client.stream);
    assert_408(&got);
    assert_timely(began, at, ONE);
}

#[test]
fn an_idle_keep_alive_connection_is_closed_quietly_after_the_keepalive_timeout() {
    // The header timeout is shorter, and must not apply between requests.
    let server = Server::start(&["http", "--header-timeout", "1", "--keepalive-timeout", "2"]);
    let mut client = Client::new(&server);
    client.send(GET);
    assert_eq!(client.answer().status(), "HTTP/1.1 200 OK");
    let answered = Instant::now();
    let (got, at) = read_until_closed(&mut client.stream);
    assert_eq!(got, b"", "closed without an answer");
    assert_timely(answered, at, TWO);
}

#[test]
fn a_body_that_keeps_coming_is_waited_for_and_one_that_stops_gets_408() {
    let server = Server::start(&["http", "--header-timeout", "1"]);
    let mut client = connect(&server);
    client
        .write_all(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000000\r\n\r\n")
        .expect("head");
    let mut answer = [0u8; 4096];
    let n = client.read(&mut answer).expect("the answer to the head");
    assert!(answer[..n].starts_with(b"HTTP/1.1 200 OK\r\n"));
    // Eight bytes a quarter second apart: 2 s of body, twice the timeout,
    // and never a second without a byte.
    let Drip::Unanswered(last_byte) = drip(&mut client, b"x", 8) else {
        panic!("an answer to a body that kept coming");
    };
    let (got, at) = read_until_closed(&mut client);
    assert_408(&got);
    assert_timely(last_byte, at, ONE);
}

#[test]
fn silent_connections_over_max_conns_are_refused_then_timed_out_freeing_their_slots() {
    const LIMIT: usize = 20;
    let limit = LIMIT.to_string();
    let server = Server::start(&["http", "--header-timeout", "1", "--max-conns", &limit]);
    let mut silent: Vec<TcpStream> = (0..LIMIT).map(|_| connect(&server)).collect();
    // The slots are full: a newcomer is told so, not reset.
    let (got, _) = read_until_closed(&mut connect(&server));
    assert!(got.starts_with(b"HTTP/1.1 503 "), "{got:?}");
    // Each silent one gets its 408; once they have gone, a client is served.
    for stream in &mut silent {
        assert_408(&read_until_closed(stream).0);
    }
    drop(silent);
    let deadline = Instant::now() + BOUND;
    while !served(&mut connect(&server)) {
        assert!(Instant::now() < deadline, "slots never came back");
    }
}

/// Sends `GET /`; true if it is answered, false if it is refused (the
/// server has not yet seen every close, so its slots are not yet free).
fn served(stream: &mut TcpStream) -> bool {
    stream.write_all(GET).expect("send");
    let mut all = Vec::new();
    let mut chunk = [0u8; 4096];
    while !all.ends_with(b"Hello, World!") {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => all.extend_from_slice(&chunk[..n]),
            // A refused client whose request the server never read may
            // see the close as a reset.
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("no answer: {e}; got {all:?}"),
        }
    }
    let refused = all.is_empty() || all.starts_with(b"HTTP/1.1 503 ");
    assert!(
        refused || all.starts_with(b"HTTP/1.1 200 OK\r\n"),
        "{all:?}"
    );
    !refused
}
