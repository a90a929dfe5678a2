//! A hand-built HTTP/1.1 and WebSocket client for the tests of
//! `reactor chat --web`: requests and frames written byte by byte, so a
//! test can send what no real client would (an unmasked frame, bad UTF-8,
//! a second pending poll), and read what the server answers without
//! trusting the server's own decoder to read it.
//!
//! Every read is bounded by the stream's timeout ([`PATIENCE`]), which only
//! matters when something is broken.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};

use crate::common::{connect, PATIENCE};

/// The key of RFC 6455's example handshake, and the accept it must get.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// Opcodes, as the wire has them.
pub const CONTINUATION: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// The mask key of every frame these tests send (a real client draws a
/// fresh one per frame; a fixed one makes no difference to a server).
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// One frame: `fin`, `opcode`, `payload`, masked as a client's must be
/// unless `masked` is false.
pub fn frame(fin: bool, opcode: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
    let mask_bit = if masked { 0x80 } else { 0 };
    header_length(&mut out, mask_bit, payload.len() as u64);
    if masked {
        out.extend_from_slice(&MASK);
        out.extend(payload.iter().zip(MASK.iter().cycle()).map(|(b, k)| b ^ k));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

/// Only the header of a masked frame announcing `len` bytes: to claim a
/// size without sending it.
pub fn frame_header(fin: bool, opcode: u8, len: u64) -> Vec<u8> {
    let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
    header_length(&mut out, 0x80, len);
    out.extend_from_slice(&MASK);
    out
}

fn header_length(out: &mut Vec<u8>, mask_bit: u8, len: u64) {
    match len {
        0..=125 => out.push(mask_bit | len as u8),
        126..=0xFFFF => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&len.to_be_bytes());
        }
    }
}

/// A frame from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The payload as text (the test fails if it is not UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8(self.payload.clone()).expect("a UTF-8 frame")
    }

    /// A close frame's code.
    pub fn close_code(&self) -> Option<u16> {
        let bytes = self.payload.get(..2)?;
        Some(u16::from_be_bytes([bytes[0], bytes[1]]))
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Response {
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value (names compared without case).
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_string())
        })
    }
}

/// A connection to the web listener: HTTP requests, then perhaps
/// WebSocket frames.
pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    pub fn open(addr: SocketAddr) -> Conn {
        let stream = connect(addr);
        let writer = stream.try_clone().expect("clone");
        Conn {
            reader: BufReader::new(stream),
            writer,
        }
    }

    /// Writes bytes as they are. A server that already closed may refuse
    /// them: that is reported, not a failure.
    pub fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(bytes)
    }

    /// Sends a request (`body` with its `Content-Length` if any).
    pub fn request(&mut self, method: &str, target: &str, body: &[u8]) {
        let mut out = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n").into_bytes();
        if method == "POST" {
            out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
            out.extend_from_slice(b"Content-Type: text/plain;charset=UTF-8\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
        self.send(&out).expect("send a request");
    }

    /// Reads one response: head, then a `Content-Length` body.
    pub fn response(&mut self) -> Response {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).expect("read a head line");
            assert!(n > 0, "end of file inside a response head: {head:?}");
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status in {head:?}"));
        let mut response = Response {
            status,
            head,
            body: Vec::new(),
        };
        let len = response
            .header("content-length")
            .map_or(0, |len| len.parse().expect("a length"));
        response.body = vec![0; len];
        self.reader
            .read_exact(&mut response.body)
            .expect("read a body");
        response
    }

    /// Request, then its response.
    pub fn exchange(&mut self, method: &str, target: &str, body: &[u8]) -> Response {
        self.request(method, target, body);
        self.response()
    }

    /// Upgrades to a WebSocket on `target`; the test fails unless the
    /// server answers `101` with the right accept.
    pub fn websocket(addr: SocketAddr, target: &str) -> Conn {
        let mut conn = Conn::open(addr);
        let request = format!(
            "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        conn.send(request.as_bytes()).expect("send the handshake");
        let response = conn.response();
        assert_eq!(response.status, 101, "{response:?}");
        assert_eq!(
            response.header("sec-websocket-accept").as_deref(),
            Some(ACCEPT)
        );
        conn
    }

    /// Sends a masked text message in one frame.
    pub fn send_text(&mut self, text: &str) {
        self.send(&frame(true, TEXT, text.as_bytes(), true))
            .expect("send a frame");
    }

    /// The next frame from the server.
    pub fn frame(&mut self) -> Frame {
        let mut head = [0u8; 2];
        self.reader.read_exact(&mut head).expect("a frame header");
        assert_eq!(head[1] & 0x80, 0, "a server frame was masked");
        let len = match head[1] & 0x7F {
            126 => {
                let mut bytes = [0u8; 2];
                self.reader.read_exact(&mut bytes).expect("a length");
                u64::from(u16::from_be_bytes(bytes))
            }
            127 => {
                let mut bytes = [0u8; 8];
                self.reader.read_exact(&mut bytes).expect("a length");
                u64::from_be_bytes(bytes)
            }
            short => u64::from(short),
        };
        let mut payload = vec![0; usize::try_from(len).expect("a length that fits")];
        self.reader.read_exact(&mut payload).expect("a payload");
        Frame {
            fin: head[0] & 0x80 != 0,
            opcode: head[0] & 0x0F,
            payload,
        }
    }

    /// The next text frame's text (the test fails on any other frame).
    pub fn text(&mut self) -> String {
        let frame = self.frame();
        assert_eq!(frame.opcode, TEXT, "not a text frame: {frame:?}");
        frame.text()
    }

    /// Reads frames until a close frame; returns its code, and checks that
    /// the server then closes the connection.
    pub fn close_code(&mut self) -> Option<u16> {
        loop {
            let frame = self.frame();
            if frame.opcode == CLOSE {
                self.expect_eof();
                return frame.close_code();
            }
        }
    }

    /// Asserts that the server closes the connection (end of file, or a
    /// reset) with nothing more to say.
    pub fn expect_eof(&mut self) {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => assert!(rest.is_empty(), "more after the end: {rest:?}"),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            Err(e) => panic!("the server did not close within {PATIENCE:?}: {e}"),
        }
    }
}
