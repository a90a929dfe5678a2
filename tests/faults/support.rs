//! What the fault tests share: a reset instead of a close, a close timed
//! against bounds, the WebSocket and HTTP bytes they send, and one check
//! per server that a well-behaved client is still served.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

use crate::common::*;

/// Closes `stream` with a reset (RST) instead of a FIN: `SO_LINGER` 0,
/// then close, as a crashed or killed peer's kernel would.
pub fn reset(stream: TcpStream) {
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER 0");
    drop(stream);
}

/// A connection with a small receive buffer (4 KiB), so that what the
/// server sends backs up into its own queue instead of the kernel's
/// buffers, which on loopback grow to megabytes.
pub fn connect_small_window(addr: SocketAddr) -> TcpStream {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None).expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    socket.connect(&addr.into()).expect("connect");
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    stream.set_write_timeout(Some(PATIENCE)).expect("timeout");
    stream
}

/// Starts a connect to `addr` without waiting for it, so that many can be
/// under way at once (a burst). Reads and writes on the stream wait for
/// the connection (bounded by [`PATIENCE`]).
pub fn connect_later(addr: SocketAddr) -> TcpStream {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None).expect("socket");
    socket.set_nonblocking(true).expect("nonblocking");
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => panic!("connect {addr}: {e}"),
    }
    socket.set_nonblocking(false).expect("blocking");
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    stream.set_write_timeout(Some(PATIENCE)).expect("timeout");
    stream
}

/// Reads until the server closes (end-of-file or a reset); returns what
/// was read and how long after `since` the close came, which must be
/// within `min..=max`.
pub fn closed_within(
    stream: &mut TcpStream,
    since: Instant,
    min: Duration,
    max: Duration,
) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("waiting for the server to close: {e} (after {got:?})"),
        }
    }
    let waited = since.elapsed();
    assert!(
        waited >= min && waited <= max,
        "closed after {waited:?}, expected {min:?} to {max:?}; got {:?}",
        String::from_utf8_lossy(&got)
    );
    got
}

/// Seconds as a `Duration`, for the bounds above.
pub fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// A `GET /` that keeps the connection open.
pub const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

/// The WebSocket handshake for `/ws` (the RFC 6455 example key).
pub const WS_HANDSHAKE: &[u8] = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

/// One masked client frame (`opcode` 1 is text) carrying `payload`.
pub fn ws_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x12, 0x34, 0x56, 0x78];
    let mut frame = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n if n <= 0xFFFF => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// Reads one unmasked server frame; returns its opcode and payload.
pub fn ws_read_frame(stream: &mut TcpStream) -> (u8, Vec<u8>) {
    let head = read_exact(stream, 2);
    let len = match head[1] & 0x7F {
        126 => {
            let bytes = read_exact(stream, 2);
            u16::from_be_bytes([bytes[0], bytes[1]]) as usize
        }
        127 => {
            let bytes = read_exact(stream, 8);
            u64::from_be_bytes(bytes.try_into().expect("8 bytes")) as usize
        }
        n => n as usize,
    };
    (head[0] & 0x0F, read_exact(stream, len))
}

/// Opens `/ws` on the chat's web listener: returns the stream after the
/// `101` head, and the welcome line.
pub fn ws_member(web: SocketAddr) -> (TcpStream, String) {
    let mut stream = connect(web);
    stream.write_all(WS_HANDSHAKE).expect("handshake");
    let head = read_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let (opcode, welcome) = ws_read_frame(&mut stream);
    assert_eq!(opcode, 1, "a text frame");
    (stream, String::from_utf8(welcome).expect("UTF-8"))
}

/// Reads an HTTP head, up to and including its blank line.
pub fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.extend(read_exact(stream, 1));
        assert!(head.len() < 16 * 1024, "no end of head in {head:?}");
    }
    String::from_utf8(head).expect("ASCII head")
}

/// Reads one HTTP answer with a `Content-Length` body; returns head and body.
pub fn read_answer(stream: &mut TcpStream) -> (String, Vec<u8>) {
    let head = read_head(stream);
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let body = read_exact(stream, length);
    (head, body)
}

/// Echo serves a fresh client: a round trip of 64 KiB.
pub fn echo_serves(addr: SocketAddr) {
    let mut stream = connect(addr);
    round_trip(&mut stream, &random_bytes(1, 64 * 1024));
}

/// HTTP serves a fresh client: `GET /` twice on one connection.
pub fn http_serves(addr: SocketAddr) {
    let mut stream = connect(addr);
    for _ in 0..2 {
        stream.write_all(GET).expect("GET");
        let (head, body) = read_answer(&mut stream);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert_eq!(body, b"Hello, World!");
    }
}

/// Chat serves fresh clients: two members in a room of their own talk.
pub fn chat_serves(addr: SocketAddr) {
    let room = format!("check{}", std::process::id() % 100_000);
    let mut members: Vec<LineClient> = (0..2).map(|_| LineClient::connect(addr)).collect();
    for member in &mut members {
        assert!(member.line().starts_with("* welcome "));
        member.send(&format!("/join {room}"));
        while member.line() != format!("* you are in #{room}") {}
    }
    members[0].send("still here?");
    loop {
        let line = members[1].line();
        if line.ends_with(": still here?") {
            break;
        }
        assert!(line.starts_with("* "), "unexpected {line:?}");
    }
}

/// The chat's web listener serves a fresh client: the page, then a `/ws`
/// member that is welcomed.
pub fn web_serves(web: SocketAddr) {
    let mut stream = connect(web);
    stream.write_all(GET).expect("GET");
    let (head, body) = read_answer(&mut stream);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(!body.is_empty());
    let (_ws, welcome) = ws_member(web);
    assert!(welcome.starts_with("* welcome "), "{welcome}");
}

/// UDP echo serves a fresh socket.
pub fn udp_serves(addr: SocketAddr) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket.set_read_timeout(Some(PATIENCE)).expect("timeout");
    socket.connect(addr).expect("connect");
    socket.send(b"ping").expect("send");
    let mut buf = [0u8; 16];
    let n = socket.recv(&mut buf).expect("reply");
    assert_eq!(&buf[..n], b"ping");
}

/// Waits, within [`PATIENCE`], until `done()` holds; panics with `what`.
pub fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "never: {what}");
        // Polls a condition; the deadline above bounds a failure.
        std::thread::sleep(Duration::from_millis(20));
    }
}
