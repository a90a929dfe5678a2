//! Half-open connections: the client shuts down its sending side and goes
//! silent. The server finishes what it owes and closes; the client, when
//! it reads at last, finds everything and then end-of-file. A client that
//! half-closes and never reads at all still cannot keep its slot past
//! `--idle-timeout`.

use std::io::Write;
use std::net::Shutdown;
use std::time::Instant;

use crate::common::*;
use crate::support::*;

#[test]
fn echo_answers_a_half_closed_client_in_full_then_closes() {
    let server = Server::start(&["echo"]);
    let before = server.open_fds();
    let mut stream = server.connect();
    // Little enough to fit in the socket buffers: the server can finish
    // without the client reading, and must then close on its own.
    let payload = random_bytes(3, 100_000);
    stream.write_all(&payload).expect("write");
    stream.shutdown(Shutdown::Write).expect("half-close");
    eventually("the server closes its side", || server.open_fds() <= before);
    // Only now does the client read.
    assert!(read_to_end(&mut stream) == payload, "bytes differ");
    echo_serves(server.addr);
}

#[test]
fn a_half_closed_client_that_never_reads_is_freed_by_the_idle_timeout() {
    let server = Server::start(&["echo", "--idle-timeout", "1", "--max-outbuf", "65536"]);
    let before = server.open_fds();
    let stream = server.connect();
    stream.set_nonblocking(true).expect("nonblocking");
    // More than the buffers hold: the server pauses reading this client,
    // so it never even sees the end-of-file.
    let chunk = vec![b'h'; 65536];
    let mut sent = 0;
    while let Ok(n) = (&stream).write(&chunk) {
        sent += n;
        assert!(sent < 256 * 1024 * 1024, "the server never pushed back");
    }
    stream.shutdown(Shutdown::Write).expect("half-close");
    let silent_since = Instant::now();
    eventually("the stuck connection is freed", || {
        server.open_fds() <= before
    });
    // Idle after 1 s, then at most the 2 s a stalled close may take.
    let waited = silent_since.elapsed();
    assert!(waited < secs(4.5), "freed only after {waited:?}");
    echo_serves(server.addr);
}

#[test]
fn chat_sends_a_half_closed_member_what_it_owes_then_closes() {
    let server = Server::start(&["chat"]);
    let mut witness = LineClient::connect(server.addr);
    witness.line();
    let mut member = LineClient::connect(server.addr);
    witness.line(); // guest-2 joined
    member.send("/who");
    member.send("bye for now");
    member.shutdown_write();
    witness.expect("guest-2: bye for now");
    witness.expect("* guest-2 left");
    let lines = member.lines_until_eof();
    assert!(lines[0].starts_with("* welcome guest-2"), "{lines:?}");
    assert_eq!(lines[1], "* in #lobby: guest-1, guest-2", "{lines:?}");
    chat_serves(server.addr);
}

#[test]
fn http_answers_pipelined_requests_before_a_half_close_then_closes() {
    let server = Server::start(&["http"]);
    let mut stream = server.connect();
    stream.write_all(&GET.repeat(10)).expect("write");
    stream.shutdown(Shutdown::Write).expect("half-close");
    let all = String::from_utf8(read_to_end(&mut stream)).expect("ASCII");
    assert_eq!(all.matches("HTTP/1.1 200 OK").count(), 10, "{all}");
    http_serves(server.addr);
}

#[test]
fn chat_web_answers_a_half_closed_request_then_closes() {
    let server = Server::start_web(&[]);
    let web = server.web.expect("web address");
    let mut stream = connect(web);
    stream
        .write_all(b"GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    stream.shutdown(Shutdown::Write).expect("half-close");
    let all = String::from_utf8(read_to_end(&mut stream)).expect("ASCII");
    assert!(all.starts_with("HTTP/1.1 404"), "{all}");
    web_serves(web);
}
