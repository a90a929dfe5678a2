//! 10 MiB of random bytes into each TCP server that parses what it reads
//! (chat's lines and Telnet commands, HTTP heads, the chat's web
//! listener). The server may refuse, answer with errors, or close; it must
//! not crash, others must keep talking meanwhile, and its memory must stay
//! bounded. When a server closes the connection, the garbage goes on in a
//! new one, so every byte reaches a parser.

use std::io::Write;
use std::net::SocketAddr;

use crate::common::*;
use crate::support::*;

/// How much garbage each server gets.
const TOTAL: usize = 10 * 1024 * 1024;

/// Most the server's RSS may grow while it is fed garbage: far above any
/// limit it has (`--max-outbuf` 1 MiB per connection, heads of 8 KiB,
/// lines of 4 KiB), far below "without bound".
const RSS_GROWTH_KIB: u64 = 64 * 1024;

/// Sends [`TOTAL`] random bytes to `addr`, reconnecting whenever the server
/// closes; every MiB, `still_serves` checks the server on a fresh client,
/// and the RSS is checked against the bound.
fn feed_garbage(server: &Server, addr: SocketAddr, still_serves: impl Fn()) {
    let baseline = server.rss_kib();
    let garbage = random_bytes(0xBAD, TOTAL);
    let (mut sent, mut connections, mut next_check) = (0, 0, 0);
    while sent < TOTAL {
        let mut stream = connect(addr);
        connections += 1;
        while sent < TOTAL {
            let chunk = &garbage[sent..TOTAL.min(sent + 64 * 1024)];
            match stream.write(chunk) {
                Ok(n) if n > 0 => sent += n,
                // Closed or reset by the server: on to a new connection.
                _ => break,
            }
            if sent >= next_check {
                next_check += 1024 * 1024;
                still_serves();
                let grown = server.rss_kib().saturating_sub(baseline);
                assert!(grown < RSS_GROWTH_KIB, "RSS grew by {grown} KiB");
            }
        }
    }
    still_serves();
    let grown = server.rss_kib().saturating_sub(baseline);
    assert!(grown < RSS_GROWTH_KIB, "RSS grew by {grown} KiB");
    assert!(connections >= 1);
}

/// Stops the server and checks it shut down as it should: exit 0, no
/// panic in its log.
fn stops_cleanly(server: Server) {
    server.signal("TERM");
    let (status, log) = server.wait_exit();
    assert_eq!(status.code(), Some(0), "{log:#?}");
    assert!(!log.iter().any(|l| l.contains("panicked")), "{log:#?}");
}

#[test]
fn chat_takes_ten_mebibytes_of_garbage() {
    let server = Server::start(&["chat"]);
    let addr = server.addr;
    feed_garbage(&server, addr, || chat_serves(addr));
    stops_cleanly(server);
}

#[test]
fn http_takes_ten_mebibytes_of_garbage() {
    let server = Server::start(&["http"]);
    let addr = server.addr;
    feed_garbage(&server, addr, || http_serves(addr));
    stops_cleanly(server);
}

#[test]
fn the_chat_web_listener_takes_ten_mebibytes_of_garbage() {
    let server = Server::start_web(&[]);
    let (addr, web) = (server.addr, server.web.expect("web address"));
    feed_garbage(&server, web, || {
        web_serves(web);
        chat_serves(addr);
    });
    stops_cleanly(server);
}

#[test]
fn a_websocket_member_sending_garbage_frames_is_closed_and_the_chat_goes_on() {
    // Past the handshake: random bytes as frames (unmasked, huge lengths,
    // bad opcodes), where the frame decoder is the parser.
    let server = Server::start_web(&[]);
    let (addr, web) = (server.addr, server.web.expect("web address"));
    let baseline = server.rss_kib();
    for seed in 0..50 {
        let (mut ws, _) = ws_member(web);
        let _ = ws.write_all(&random_bytes(seed, 200 * 1024));
    }
    chat_serves(addr);
    web_serves(web);
    let grown = server.rss_kib().saturating_sub(baseline);
    assert!(grown < RSS_GROWTH_KIB, "RSS grew by {grown} KiB");
    stops_cleanly(server);
}
