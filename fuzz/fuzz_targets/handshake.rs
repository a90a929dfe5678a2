//! The WebSocket opening handshake: any bytes as a request head, parsed by
//! httparse as the server parses heads, then its fields through
//! `handshake::check`; and, since `check` takes any `(name, value)` pairs,
//! the same bytes cut into pairs directly, past what httparse would let
//! through.
//!
//! Checks: nothing panics; an accepted request gets a 28-character
//! `Sec-WebSocket-Accept` and a `101` response that is complete HTTP; a
//! refused one gets a complete 400 or 426 whose `Content-Length` is its
//! body's length.

#![no_main]

use libfuzzer_sys::fuzz_target;
use reactor::proto::web::handshake::{check, write_switching_protocols, HandshakeError};

/// Parses `response` as HTTP and returns its status and body.
fn parse_response(response: &[u8]) -> (u16, &[u8]) {
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut parsed = httparse::Response::new(&mut headers);
    let head_len = match parsed.parse(response) {
        Ok(httparse::Status::Complete(len)) => len,
        other => panic!("not a complete response: {other:?}"),
    };
    (parsed.code.unwrap_or(0), &response[head_len..])
}

/// What the server writes for a request whose fields are `fields`.
fn answer<'h>(fields: impl IntoIterator<Item = (&'h str, &'h [u8])>) {
    match check(fields) {
        Ok(accepted) => {
            assert_eq!(accepted.accept.len(), 28, "{accepted:?}");
            let mut out = Vec::new();
            write_switching_protocols(&mut out, &accepted);
            let (status, body) = parse_response(&out);
            assert_eq!((status, body), (101, &b""[..]));
        }
        Err(err) => refused(err),
    }
}

/// A refusal is complete HTTP with the status the error names.
fn refused(err: HandshakeError) {
    let mut out = Vec::new();
    err.write_response(&mut out);
    let (status, body) = parse_response(&out);
    assert_eq!(status, err.status());
    let announced = format!("Content-Length: {}\r\n", body.len());
    let out_text = String::from_utf8_lossy(&out);
    assert!(out_text.contains(&announced), "{out_text}");
}

fuzz_target!(|data: &[u8]| {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut headers);
    if let Ok(httparse::Status::Complete(_)) = request.parse(data) {
        answer(request.headers.iter().map(|h| (h.name, h.value)));
    }
    // The same bytes as raw fields: lines of `name:value`.
    let text = String::from_utf8_lossy(data);
    let fields: Vec<(&str, &[u8])> = text
        .split('\n')
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap_or((line, ""));
            (name, value.as_bytes())
        })
        .collect();
    answer(fields);
});
