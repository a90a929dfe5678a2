//! Slowloris: peers that send a byte now and then, or start a message and
//! stall, to hold a slot for free. With `--header-timeout` (HTTP) and
//! `--idle-timeout` (every server) set to 1 s, each is closed within a
//! bound measured here from both sides: not before the timeout, and not
//! much after it (a close may take up to 2 s more to flush).
//!
//! What the timeouts do not cover, by the reference's rules: a peer that
//! keeps trickling faster than `--idle-timeout` is not idle (a person
//! typing in a chat is no different), except in an HTTP head, which
//! `--header-timeout` bounds as a whole.

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::support::*;

/// Writes `bytes` one at a time, `every` apart (the sleep paces the
/// trickle; it synchronises nothing). Returns when the last one left.
fn trickle(stream: &TcpStream, bytes: &[u8], every: Duration) -> Instant {
    let mut writer = stream;
    for byte in bytes {
        writer.write_all(&[*byte]).expect("trickle a byte");
        thread::sleep(every);
    }
    Instant::now() - every
}

/// Trickles `a`s forever on a thread, a byte every 100 ms, until the
/// server closes or the returned flag is set.
fn trickle_forever(stream: &TcpStream) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let mut writer = stream.try_clone().expect("clone");
    thread::spawn(move || {
        while !flag.load(Ordering::SeqCst) && writer.write_all(b"a").is_ok() {
            thread::sleep(Duration::from_millis(100));
        }
    });
    stop
}

#[test]
fn an_http_head_trickled_forever_gets_408_at_the_header_timeout() {
    let server = Server::start(&["http", "--header-timeout", "1"]);
    let mut stream = server.connect();
    let started = Instant::now();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .expect("write");
    let stop = trickle_forever(&stream);
    let answer = closed_within(&mut stream, started, secs(0.9), secs(3.5));
    stop.store(true, Ordering::SeqCst);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    http_serves(server.addr);
}

#[test]
fn an_http_body_that_stalls_is_closed() {
    let server = Server::start(&["http", "--header-timeout", "1", "--idle-timeout", "1"]);
    let mut stream = server.connect();
    stream
        .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nsome")
        .expect("write");
    // A byte every 300 ms for 1.5 s, then nothing: it is the stall that
    // must be closed.
    let last = trickle(&stream, b" more", Duration::from_millis(300));
    let answer = closed_within(&mut stream, last, secs(0.9), secs(3.5));
    // The POST is answered as soon as its head is in (its body is read
    // and discarded); after that answer, only a 408 (a body timeout) or
    // nothing (the idle timeout) may come before the close.
    let answer = String::from_utf8_lossy(&answer);
    let (_, after) = answer
        .split_once("Hello, World!")
        .unwrap_or_else(|| panic!("no answer to the POST: {answer}"));
    assert!(
        after.is_empty() || after.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    http_serves(server.addr);
}

#[test]
fn a_chat_line_trickled_then_stalled_is_closed_an_idle_timeout_after_its_last_byte() {
    let server = Server::start(&["chat", "--idle-timeout", "1"]);
    let mut witness = LineClient::connect(server.addr);
    witness.line();
    let mut slow = server.connect();
    witness.expect("* guest-2 joined");
    // Input alone (this member hears nothing meanwhile) keeps it from
    // being idle: 2.1 s of trickling, past the 1 s timeout.
    let trickling = thread::spawn(move || {
        let last = trickle(&slow, b"s l o w", Duration::from_millis(300));
        let got = closed_within(&mut slow, last, secs(0.9), secs(3.5));
        String::from_utf8(got).expect("UTF-8")
    });
    // The witness stays busy (it would be idle too otherwise), and hears
    // no half line, only the departure.
    loop {
        witness.send("/rooms");
        let line = witness.line();
        if line == "* guest-2 left" {
            // The answer to the last /rooms is still on its way.
            assert!(witness.line().starts_with("* rooms: lobby "));
            break;
        }
        assert!(line.starts_with("* rooms: lobby "), "{line}");
        // Paces the witness's questions; it synchronises nothing.
        thread::sleep(Duration::from_millis(200));
    }
    let got = trickling.join().expect("trickler");
    assert!(got.ends_with("! idle timeout\n"), "{got}");
    witness.send("/who");
    witness.expect("* in #lobby: guest-1");
}

#[test]
fn a_websocket_handshake_trickled_then_stalled_is_closed() {
    let server = Server::start_web(&["--idle-timeout", "1"]);
    let web = server.web.expect("web address");
    let mut stream = connect(web);
    let last = trickle(&stream, &WS_HANDSHAKE[..25], Duration::from_millis(60));
    let got = closed_within(&mut stream, last, secs(0.9), secs(3.5));
    assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
    web_serves(web);
}

#[test]
fn a_long_poll_held_and_never_closed_is_closed_by_the_idle_timeout() {
    let server = Server::start_web(&["--idle-timeout", "1"]);
    let web = server.web.expect("web address");
    let mut stream = connect(web);
    stream
        .write_all(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("open a session");
    let (head, body) = read_answer(&mut stream);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let body = String::from_utf8(body).expect("UTF-8");
    let sid = body
        .split("\"sid\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no sid in {body}"));
    // The poll is held: nothing is queued for the session yet.
    let poll =
        format!("GET /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\n\r\n");
    stream.write_all(poll.as_bytes()).expect("poll");
    let polled = Instant::now();
    closed_within(&mut stream, polled, secs(0.9), secs(3.5));
    web_serves(web);
}

#[test]
fn an_echo_client_that_goes_quiet_is_closed_by_the_idle_timeout() {
    let server = Server::start(&["echo", "--idle-timeout", "1"]);
    let mut stream = server.connect();
    round_trip(&mut stream, b"one byte and then nothing");
    let quiet = Instant::now();
    let got = closed_within(&mut stream, quiet, secs(0.9), secs(3.5));
    assert!(got.is_empty());
    echo_serves(server.addr);
}
