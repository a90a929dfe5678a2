//! `reactor http`, black-box over loopback (`docs/reference.md`).
//!
//! Requests are written as raw bytes on a `TcpStream` and answers compared
//! byte for byte, so what is asserted is exactly what a client receives.
//! Here: what a well-behaved client gets. `http/requests.rs` holds what
//! hostile or unusual requests get, `http/timeouts.rs` the clients that
//! are silent, slow or idle.

#[path = "http/client.rs"]
mod client;
mod common;
#[path = "http/requests.rs"]
mod requests;
#[path = "http/timeouts.rs"]
mod timeouts;

use std::io::Write;
use std::time::{Duration, Instant};

use client::{unix_now, Client};
use common::*;
use reactor::proto::http::date::imf_fixdate;

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n";
const HELLO: &str = "Hello, World!";

#[test]
fn readiness_line_says_http() {
    let server = Server::start(&["http"]);
    assert!(
        server
            .ready_line
            .starts_with("listening on http://127.0.0.1:"),
        "{}",
        server.ready_line
    );
}

#[test]
fn get_root_is_exactly_hello_world() {
    let server = Server::start(&["http"]);
    let mut client = Client::new(&server);
    let before = unix_now();
    client.send(GET);
    let mut raw = Vec::new();
    while !raw.ends_with(HELLO.as_bytes()) {
        assert!(client.fill(), "closed early: {:?}", client.buf);
        raw = client.buf.clone();
    }
    let after = unix_now();
    let raw = String::from_utf8(raw).expect("ASCII");
    let date = raw
        .lines()
        .find_map(|l| l.strip_prefix("Date: "))
        .expect("Date header");
    let shown: Vec<_> = (before..=after)
        .map(|secs| String::from_utf8(imf_fixdate(secs).to_vec()).expect("ASCII"))
        .collect();
    assert!(shown.iter().any(|d| d == date), "{date} not in {shown:?}");
    assert_eq!(
        raw,
        format!(
            "HTTP/1.1 200 OK\r\nServer: reactor\r\nDate: {date}\r\n\
             Content-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!"
        )
    );
}

#[test]
fn a_hundred_sequential_requests_share_one_connection() {
    let server = Server::start(&["http"]);
    let mut client = Client::new(&server);
    for i in 0..100 {
        client.send(GET);
        let answer = client.answer();
        assert_eq!(answer.status(), "HTTP/1.1 200 OK", "request {i}");
        assert_eq!(answer.body(), HELLO);
        assert_eq!(answer.header("Connection"), None);
    }
    client.send(b"GET /stats HTTP/1.1\r\nHost: test\r\n\r\n");
    let stats: serde_json::Value = serde_json::from_slice(&client.answer().body).expect("JSON");
    assert_eq!(stats["accepted"], 1, "{stats}");
}

#[test]
fn fifty_pipelined_requests_in_one_write_get_fifty_answers_in_order() {
    let server = Server::start(&["http"]);
    let mut client = Client::new(&server);
    // Every third request asks for a missing page, so order is visible.
    let path = |i: usize| if i % 3 == 2 { "/missing" } else { "/" };
    let batch: Vec<u8> = (0..50)
        .flat_map(|i| format!("GET {} HTTP/1.1\r\nHost: test\r\n\r\n", path(i)).into_bytes())
        .collect();
    client.send(&batch);
    for i in 0..50 {
        let answer = client.answer();
        let expected = match path(i) {
            "/" => "HTTP/1.1 200 OK",
            _ => "HTTP/1.1 404 Not Found",
        };
        assert_eq!(answer.status(), expected, "answer {i}");
    }
    // And the connection is still good.
    client.send(GET);
    assert_eq!(client.answer().body(), HELLO);
}

#[test]
fn stats_are_json_with_the_counters() {
    let server = Server::start(&["http"]);
    let mut client = Client::new(&server);
    client.send(GET);
    client.answer();
    client.send(b"GET /stats HTTP/1.1\r\nHost: test\r\n\r\n");
    let answer = client.answer();
    assert_eq!(answer.status(), "HTTP/1.1 200 OK");
    assert_eq!(answer.header("Content-Type"), Some("application/json"));
    let stats: serde_json::Value = serde_json::from_slice(&answer.body).expect("JSON");
    for field in ["accepted", "open", "requests", "bytes_in", "bytes_out"] {
        assert!(stats[field].is_u64(), "{field} in {stats}");
    }
    assert_eq!(stats["accepted"], 1);
    assert_eq!(stats["open"], 1);
    assert_eq!(stats["requests"], 2);
    assert!(stats["bytes_in"].as_u64() >= Some(2 * GET.len() as u64));
    assert!(stats["bytes_out"].as_u64() > Some(0));
}

#[test]
fn other_paths_are_not_found_and_keep_the_connection() {
    let server = Server::start(&["http"]);
    let mut client = Client::new(&server);
    client.send(b"GET /nowhere?x=1 HTTP/1.1\r\nHost: test\r\n\r\n");
    let answer = client.answer();
    assert_eq!(answer.status(), "HTTP/1.1 404 Not Found");
    assert_eq!(answer.header("Connection"), None);
    client.send(GET);
    assert_eq!(client.answer().status(), "HTTP/1.1 200 OK");
}

#[test]
fn head_gets_the_headers_without_the_body() {
    let server = Server::start(&["http"]);
    let mut client = Client::new(&server);
    client.send(b"HEAD / HTTP/1.1\r\nHost: test\r\n\r\n");
    let answer = client.answer_to(true);
    assert_eq!(answer.header("Content-Length"), Some("13"));
    client.send(GET);
    assert_eq!(client.answer().body(), HELLO, "no stray body before it");
}

#[test]
fn http_1_0_closes_after_the_answer() {
    let server = Server::start(&["http"]);
    let mut client = Client::new(&server);
    client.send(b"GET / HTTP/1.0\r\n\r\n");
    let answer = client.answer();
    assert_eq!(answer.status(), "HTTP/1.1 200 OK");
    assert_eq!(answer.header("Connection"), Some("close"));
    assert_eq!(answer.body(), HELLO);
    client.assert_closed();
}

#[test]
fn http_1_0_keep_alive_is_kept_and_said() {
    let server = Server::start(&["http"]);
    let mut client = Client::new(&server);
    for _ in 0..3 {
        // What `ab -k` sends.
        client.send(b"GET / HTTP/1.0\r\nHost: test\r\nConnection: Keep-Alive\r\n\r\n");
        let answer = client.answer();
        assert_eq!(answer.header("Connection"), Some("keep-alive"));
        assert_eq!(answer.body(), HELLO);
    }
}

#[test]
fn connection_close_is_honoured_and_said() {
    let server = Server::start(&["http"]);
    let mut client = Client::new(&server);
    let mut batch = b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".to_vec();
    batch.extend_from_slice(GET);
    client.send(&batch);
    let answer = client.answer();
    assert_eq!(answer.header("Connection"), Some("close"));
    assert_eq!(answer.body(), HELLO);
    client.assert_closed();
}

#[test]
fn a_malformed_request_line_is_400_then_close() {
    let server = Server::start(&["http"]);
    let mut client = Client::new(&server);
    client.send(b"GET /\x01 HTTP/1.1\r\nHost: test\r\n\r\n");
    let answer = client.answer();
    assert_eq!(answer.status(), "HTTP/1.1 400 Bad Request");
    assert_eq!(answer.header("Connection"), Some("close"));
    client.assert_closed();
}

#[test]
fn sixteen_kib_of_headers_is_431_then_close() {
    let server = Server::start(&["http"]);
    let mut client = Client::new(&server);
    let mut head = b"GET / HTTP/1.1\r\nHost: test\r\n".to_vec();
    let mut i = 0;
    while head.len() < 16 * 1024 {
        head.extend_from_slice(format!("X-Filler-{i}: {}\r\n", "y".repeat(100)).as_bytes());
        i += 1;
    }
    head.extend_from_slice(b"\r\n");
    client.send(&head);
    let answer = client.answer();
    assert_eq!(
        answer.status(),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    assert_eq!(answer.header("Connection"), Some("close"));
    client.assert_closed();

    // Counted while the head is still incomplete: 9 KiB and no end yet.
    let mut unfinished = Client::new(&server);
    unfinished.send(&head[..9 * 1024]);
    let answer = unfinished.answer();
    assert_eq!(
        answer.status(),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    unfinished.assert_closed();
}

#[test]
fn a_chunked_body_is_501_then_close() {
    let server = Server::start(&["http"]);
    let mut client = Client::new(&server);
    client.send(
        b"POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    );
    let answer = client.answer();
    assert_eq!(answer.status(), "HTTP/1.1 501 Not Implemented");
    assert_eq!(answer.header("Connection"), Some("close"));
    client.assert_closed();
}

#[test]
fn a_content_length_body_is_skipped_and_the_pipelined_get_answered() {
    let server = Server::start(&["http"]);
    let mut client = Client::new(&server);
    // The body looks like a request; it must be skipped, not answered.
    let body = b"GET /missing HTTP/1.1\r\nHost: test\r\n\r\n";
    let mut batch = format!(
        "POST / HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    batch.extend_from_slice(body);
    batch.extend_from_slice(b"GET /stats HTTP/1.1\r\nHost: test\r\n\r\n");
    client.send(&batch);
    assert_eq!(client.answer().body(), HELLO);
    let stats = client.answer();
    assert_eq!(stats.header("Content-Type"), Some("application/json"));
    let stats: serde_json::Value = serde_json::from_slice(&stats.body).expect("JSON");
    assert_eq!(stats["requests"], 2, "{stats}");
}

#[test]
fn a_head_sent_byte_by_byte_is_answered_once_complete() {
    let server = Server::start(&["http"]);
    let mut client = Client::new(&server);
    let head = b"GET / HTTP/1.1\r\nHost: test\r\nUser-Agent: trickle\r\n\r\n";
    for byte in head.chunks(1) {
        client.send(byte);
    }
    let answer = client.answer();
    assert_eq!(answer.status(), "HTTP/1.1 200 OK");
    assert_eq!(answer.body(), HELLO);
}

#[test]
fn a_slowloris_head_is_timed_out_and_holds_only_its_own_slot() {
    let server = Server::start(&["http", "--header-timeout", "1"]);
    let mut slow = Client::new(&server);
    let started = Instant::now();
    slow.send(b"GET / HTTP/1.1\r\nHost: te");

    // Meanwhile everybody else is served.
    let mut other = Client::new(&server);
    for _ in 0..10 {
        other.send(GET);
        assert_eq!(other.answer().body(), HELLO);
    }

    let answer = slow.answer();
    assert_eq!(answer.status(), "HTTP/1.1 408 Request Timeout");
    assert_eq!(answer.header("Connection"), Some("close"));
    slow.assert_closed();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(900), "after {waited:?}");
}

#[test]
fn idle_timeout_closes_a_silent_connection() {
    let server = Server::start(&["http", "--idle-timeout", "1"]);
    let mut silent = Client::new(&server);
    let started = Instant::now();
    silent.assert_closed();
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[test]
fn sigterm_exits_zero() {
    let mut server = Server::start(&["http", "-v"]);
    let mut client = Client::new(&server);
    client.send(GET);
    client.answer();
    server.signal("TERM");
    server.wait_for_log("shutting down");
    client.assert_closed();
    let (status, log) = server.wait_exit();
    assert_eq!(status.code(), Some(0), "{log:#?}");
}

#[test]
fn a_pipelining_client_that_does_not_read_is_paused_then_fully_served() {
    let mut server = Server::start(&["http", "-v", "--max-outbuf", "65536"]);
    let mut client = Client::new(&server);
    const REQUESTS: usize = 100_000;
    let mut writer = client.stream.try_clone().expect("clone");
    let pushing = std::thread::spawn(move || {
        let batch = GET.repeat(1000);
        for _ in 0..REQUESTS / 1000 {
            writer.write_all(&batch).expect("send");
        }
    });
    // Its answers fill the socket buffers and the queue: the server stops
    // reading from it instead of buffering without bound.
    server.wait_for_log("paused");
    for i in 0..REQUESTS {
        assert_eq!(client.answer().body(), HELLO, "answer {i}");
    }
    pushing.join().expect("pusher");
}
