//! Lingering: when the server closes a connection (here HTTP's
//! `Connection: close`), it shuts down its sending side and reads and
//! drops what the peer still sends, for up to 2 s or until the peer
//! closes too. Closing a socket with unread input at once would make the
//! kernel send a reset, and a reset throws away whatever answer the peer
//! has not received yet.

use std::io::{ErrorKind, Read, Write};
use std::thread;
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

use crate::common::*;

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
const GET_AND_CLOSE: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

#[test]
fn every_answer_arrives_though_the_client_keeps_sending_after_its_close() {
    let server = Server::start(&["http"]);
    // A small window: the answers back up into the server's buffers,
    // where a reset would destroy them.
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    socket.connect(&server.addr.into()).expect("connect");
    let mut stream: std::net::TcpStream = socket.into();
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    let mut requests = GET.repeat(4000);
    requests.extend_from_slice(GET_AND_CLOSE);
    stream.write_all(&requests).expect("requests");
    // After the close request, more bytes that nobody will read, without
    // end: the server is still receiving when it lets go of the
    // connection, 2 s later, and its reset then ends this writer.
    let mut writer = stream.try_clone().expect("clone");
    let junk = thread::spawn(move || {
        let chunk = vec![b'j'; 64 * 1024];
        let started = Instant::now();
        while writer.write_all(&chunk).is_ok() {}
        started.elapsed()
    });
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                panic!("reset after {} B of answers", all.len())
            }
            Err(e) => panic!("read: {e}"),
        }
    }
    let text = String::from_utf8(all).expect("ASCII");
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 4001);
    assert!(text.ends_with("Hello, World!"), "the last answer is whole");
    // The server took (and dropped) the client's bytes for the 2 s of
    // lingering, then let go; a server that closed at once would have
    // reset this writer at once, and often destroyed answers with it.
    let accepted_for = junk.join().expect("junk writer");
    assert!(
        accepted_for >= Duration::from_millis(1800) && accepted_for < Duration::from_millis(3500),
        "the server dropped input for {accepted_for:?}; it lingers 2 s"
    );
}

#[test]
fn a_peer_that_never_closes_holds_its_slot_two_seconds_after_the_server_closes() {
    let server = Server::start(&["http"]);
    let before = server.open_fds();
    let mut stream = server.connect();
    stream.write_all(GET_AND_CLOSE).expect("request");
    // The answer, then end-of-file: the server has shut its sending side.
    let answer = read_to_end(&mut stream);
    let closed = Instant::now();
    assert!(answer.ends_with(b"Hello, World!"));
    // We keep our side open and say nothing: the server lingers, then
    // lets go of the connection on its own.
    let deadline = closed + PATIENCE;
    while server.open_fds() > before {
        assert!(Instant::now() < deadline, "the slot was never freed");
        // Polls /proc; the deadline above bounds a failure.
        thread::sleep(Duration::from_millis(20));
    }
    let held = closed.elapsed();
    assert!(
        held >= Duration::from_millis(1800) && held < Duration::from_millis(3500),
        "held {held:?} after the close, the linger is 2 s"
    );
    drop(stream);
}
