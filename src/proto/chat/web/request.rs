//! A request on the web listener, read with `httparse` and reduced to what
//! routes it: method, path, query, whether the connection stays open, the
//! body's length, and the WebSocket handshake if it asks for one.

use std::mem::MaybeUninit;

use crate::proto::web::handshake::{self, Accepted, HandshakeError};

/// Most bytes a request head may have.
pub const MAX_HEAD: usize = 8 * 1024;

/// Most header fields read.
const MAX_HEADERS: usize = 64;

/// The methods this listener answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// Anything else (answered `405`).
    Other,
}

/// A request head, owned (the input it came from is consumed after).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The path, without the query.
    pub path: String,
    /// What follows `?`, or empty.
    pub query: String,
    /// Whether the connection stays open after the answer.
    pub keep_alive: bool,
    /// `Content-Length`, 0 without one.
    pub body_len: usize,
    /// Bytes the head took.
    pub head_len: usize,
    /// `Some` when the request asks for a WebSocket: the handshake's
    /// verdict.
    pub upgrade: Option<Result<Accepted, HandshakeError>>,
}

/// Why a head cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadError {
    /// Not HTTP/1.x, or a bad field: `400`.
    Malformed,
    /// Over [`MAX_HEAD`]: `431`.
    TooLarge,
    /// `Transfer-Encoding` bodies are not read: `501`.
    Chunked,
}

/// Parses the head at the start of `input`: `Ok(None)` until it is whole.
pub fn parse(input: &[u8]) -> Result<Option<Request>, HeadError> {
    let window = &input[..input.len().min(MAX_HEAD)];
    let mut headers = [const { MaybeUninit::<httparse::Header>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let head_len = match req.parse_with_uninit_headers(window, &mut headers) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if input.len() >= MAX_HEAD => {
            return Err(HeadError::TooLarge)
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        Err(_) => return Err(HeadError::Malformed),
    };
    let method = match req.method.unwrap_or_default() {
        "GET" => Method::Get,
        "POST" => Method::Post,
        _ => Method::Other,
    };
    let target = req.path.unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let http10 = req.version == Some(0);
    let mut keep_alive = !http10;
    let mut body_len = 0;
    let mut wants_upgrade = false;
    for header in req.headers.iter() {
        let value = std::str::from_utf8(header.value).unwrap_or("");
        let name = header.name;
        if name.eq_ignore_ascii_case("connection") {
            let tokens = value.split(',').map(str::trim);
            for token in tokens {
                if token.eq_ignore_ascii_case("close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case("keep-alive") {
                    keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case("content-length") {
            body_len = value.trim().parse().map_err(|_| HeadError::Malformed)?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(HeadError::Chunked);
        } else if name.eq_ignore_ascii_case("upgrade") {
            wants_upgrade = true;
        }
    }
    let upgrade =
        wants_upgrade.then(|| handshake::check(req.headers.iter().map(|h| (h.name, h.value))));
    Ok(Some(Request {
        method,
        path: path.to_string(),
        query: query.to_string(),
        keep_alive,
        body_len,
        head_len,
        upgrade,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_polling_post_is_read_with_its_query_and_body_length() {
        let head = b"POST /socket.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\r\n\
                     Host: x\r\nContent-Length: 5\r\n\r\n40abc";
        let req = parse(head).ok().flatten().expect("a whole head");
        assert_eq!(req.method, Method::Post);
        assert_eq!(req.path, "/socket.io/");
        assert_eq!(req.query, "EIO=4&transport=polling&sid=abc");
        assert_eq!((req.body_len, req.head_len), (5, head.len() - 5));
        assert!(req.keep_alive && req.upgrade.is_none());
    }

    #[test]
    fn a_websocket_request_carries_the_handshake_verdict() {
        let head = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        let req = parse(head).ok().flatten().expect("a whole head");
        let accepted = req.upgrade.expect("an upgrade").expect("accepted");
        assert_eq!(accepted.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn partial_large_and_chunked_heads() {
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHo"), Ok(None));
        assert_eq!(parse(b"GET / HTTP/9\r\n\r\n"), Err(HeadError::Malformed));
        assert_eq!(parse(&[b'a'; MAX_HEAD]), Err(HeadError::TooLarge));
        let mut long = b"GET / HTTP/1.1\r\nX: ".to_vec();
        long.resize(MAX_HEAD + 1, b'a');
        assert_eq!(parse(&long), Err(HeadError::TooLarge));
        let chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(parse(chunked), Err(HeadError::Chunked));
    }
}
