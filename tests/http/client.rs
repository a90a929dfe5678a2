//! The client side of the HTTP tests: raw bytes out, responses parsed
//! just enough to compare them.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::common::Server;

/// One response as received.
#[derive(Debug)]
pub struct Answer {
    /// Status line and headers, without the empty line.
    pub head: String,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn status(&self) -> &str {
        self.head.lines().next().unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    pub fn body(&self) -> &str {
        std::str::from_utf8(&self.body).expect("UTF-8 body")
    }
}

/// A client connection that reads responses one at a time, keeping what it
/// read past the end of one for the next.
pub struct Client {
    pub stream: TcpStream,
    pub buf: Vec<u8>,
}

impl Client {
    pub fn new(server: &Server) -> Client {
        let stream = server.connect();
        stream.set_nodelay(true).expect("nodelay");
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// Reads more into the buffer; false at end of file.
    pub fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk).expect("read");
        self.buf.extend_from_slice(&chunk[..n]);
        n > 0
    }

    /// The next response (`HEAD` answers have no body: `head_only`).
    pub fn answer_to(&mut self, head_only: bool) -> Answer {
        let end = loop {
            if let Some(at) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at;
            }
            assert!(
                self.fill(),
                "end of file in a response head: {:?}",
                self.buf
            );
        };
        let head = String::from_utf8(self.buf[..end].to_vec()).expect("ASCII head");
        self.buf.drain(..end + 4);
        let mut answer = Answer {
            head,
            body: Vec::new(),
        };
        let length: usize = answer
            .header("Content-Length")
            .and_then(|v| v.parse().ok())
            .expect("Content-Length");
        if !head_only {
            while self.buf.len() < length {
                assert!(self.fill(), "end of file in a body");
            }
            answer.body = self.buf.drain(..length).collect();
        }
        answer
    }

    pub fn answer(&mut self) -> Answer {
        self.answer_to(false)
    }

    /// Asserts the server closes: end of file, with nothing more before it.
    pub fn assert_closed(&mut self) {
        while self.fill() {}
        assert!(self.buf.is_empty(), "unexpected bytes {:?}", self.buf);
    }
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}
