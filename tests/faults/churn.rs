//! 10,000 connections opened and closed, one after another, each with one
//! exchange first (so each is really served): afterwards the server holds
//! as many descriptors as before and about as much memory. A leak of one
//! descriptor or one buffer per connection would show as 10,000 of them.
//! (Connections that pile up all at once are `burst.rs`.)

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

use crate::common::*;
use crate::support::*;

const CYCLES: usize = 10_000;

/// RSS may end this much above where it was after the warm-up: the
/// allocator keeps some freed memory, but nothing per connection.
const RSS_SLACK_KIB: u64 = 4 * 1024;

/// Runs `cycle` (open, one exchange, close) [`CYCLES`] times, then checks
/// descriptors and RSS: descriptors against the server with no
/// connection at all, RSS against where it was after a warm-up of 200
/// cycles (the first connections size the tables once).
fn churn(server: &Server, cycle: impl Fn()) {
    let floor = server.open_fds();
    for _ in 0..200 {
        cycle();
    }
    eventually("the warm-up's connections are closed", || {
        server.open_fds() <= floor
    });
    let rss = server.rss_kib();
    for _ in 0..CYCLES {
        cycle();
    }
    eventually("every connection is closed again", || {
        server.open_fds() <= floor
    });
    let grown = server.rss_kib().saturating_sub(rss);
    assert!(grown < RSS_SLACK_KIB, "RSS grew by {grown} KiB");
}

#[test]
fn echo_after_ten_thousand_connections_holds_what_it_held() {
    let server = Server::start(&["echo"]);
    churn(&server, || round_trip(&mut server.connect(), b"hi"));
    echo_serves(server.addr);
}

#[test]
fn chat_after_ten_thousand_members_holds_what_it_held() {
    let server = Server::start(&["chat"]);
    churn(&server, || {
        let mut welcome = String::new();
        BufReader::new(server.connect())
            .read_line(&mut welcome)
            .expect("welcome");
        assert!(welcome.starts_with("* welcome "), "{welcome}");
    });
    chat_serves(server.addr);
}

#[test]
fn http_after_ten_thousand_connections_holds_what_it_held() {
    let server = Server::start(&["http"]);
    churn(&server, || {
        let mut stream: TcpStream = server.connect();
        stream.write_all(GET).expect("GET");
        let (head, _) = read_answer(&mut stream);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    });
    http_serves(server.addr);
}
