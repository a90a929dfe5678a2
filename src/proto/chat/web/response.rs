//! The HTTP responses the web listener sends: whole, small, written into
//! one buffer and handed to the loop in one call.

use crate::event_loop::{ConnId, Io};

/// Whether the connection stays open after a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// Keep it for the next request (HTTP/1.1 keep-alive).
    KeepAlive,
    /// Close it once the response is sent.
    Close,
}

/// The status lines this listener uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `200 OK`.
    Ok,
    /// `400 Bad Request`.
    BadRequest,
    /// `404 Not Found`.
    NotFound,
    /// `405 Method Not Allowed`.
    MethodNotAllowed,
    /// `413 Content Too Large`.
    TooLarge,
    /// `431 Request Header Fields Too Large`.
    HeadTooLarge,
    /// `501 Not Implemented`.
    NotImplemented,
}

impl Status {
    fn line(self) -> &'static str {
        match self {
            Status::Ok => "200 OK",
            Status::BadRequest => "400 Bad Request",
            Status::NotFound => "404 Not Found",
            Status::MethodNotAllowed => "405 Method Not Allowed",
            Status::TooLarge => "413 Content Too Large",
            Status::HeadTooLarge => "431 Request Header Fields Too Large",
            Status::NotImplemented => "501 Not Implemented",
        }
    }
}

/// Sends one response on `conn` and, for [`Then::Close`], closes it once
/// sent.
pub fn respond<T>(
    io: &mut Io<T>,
    conn: ConnId,
    status: Status,
    content_type: &str,
    body: &[u8],
    then: Then,
) {
    let mut out = Vec::with_capacity(160 + body.len());
    write(&mut out, status, content_type, body, then);
    io.send(conn, &out);
    if then == Then::Close {
        io.close(conn, crate::event_loop::CloseReason::Requested);
    }
}

/// Appends one whole response to `out`.
pub fn write(out: &mut Vec<u8>, status: Status, content_type: &str, body: &[u8], then: Then) {
    let connection = match then {
        Then::KeepAlive => "",
        Then::Close => "Connection: close\r\n",
    };
    let head = format!(
        "HTTP/1.1 {}\r\nServer: reactor\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nCache-Control: no-store\r\n{connection}\r\n",
        status.line(),
        body.len()
    );
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_has_its_length_and_says_when_it_closes() {
        let mut out = Vec::new();
        write(&mut out, Status::NotFound, "text/plain", b"no", Then::Close);
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"), "{text}");
        assert!(text.contains("Content-Length: 2\r\n"), "{text}");
        assert!(text.ends_with("Connection: close\r\n\r\nno"), "{text}");
    }
}
