//! Responses, written into one buffer that the whole batch shares.
//!
//! The protocol answers every request of one read before it writes
//! anything: each response is appended here to the same `Vec<u8>`, and the
//! batch goes to the kernel in one `write`. The buffer belongs to the
//! protocol and is reused for every batch of every connection (the loop is
//! single-threaded, so one is enough), so answering allocates nothing once
//! it has grown to the largest batch.
//!
//! A response is a handful of `extend_from_slice` calls: the status line
//! and the header names are constants, the `Date` comes ready-made from
//! the [`DateCache`](super::date::DateCache), and the only number to
//! format is `Content-Length`.

use super::date::IMF_FIXDATE_LEN;
use crate::event_loop::{Stats, StatsBoard};

/// The `Server` header's value.
pub const SERVER: &str = "reactor";

/// The interim answer to `Expect: 100-continue` (RFC 9110 section 10.1.1):
/// "go on, send the body".
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// The whole answer to a connection refused by `--max-conns`: a complete
/// `503` that says it closes, so a client over the limit reads why instead
/// of seeing a reset.
///
/// It has no `Date`: RFC 9110 section 6.6.1 requires one in `2xx`, `3xx`
/// and `4xx` answers and leaves it optional in `1xx` and `5xx` ones. That
/// lets the refusal be a constant, which is what the moment wants: the
/// loop writes it once as it accepts and closes a connection that gets
/// no state at all, when the server is at its limit, and a constant costs
/// one write with nothing to format or keep up to date.
pub const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nServer: reactor\r\n\
Content-Type: text/plain\r\nContent-Length: 20\r\nConnection: close\r\n\r\n\
Service Unavailable\n";

/// The status codes this server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `200 OK`.
    Ok,
    /// `400 Bad Request`: the request could not be parsed.
    BadRequest,
    /// `404 Not Found`: a path other than `/` and `/stats`.
    NotFound,
    /// `408 Request Timeout`: the head did not arrive within
    /// `--header-timeout`.
    RequestTimeout,
    /// `431 Request Header Fields Too Large`: a head over 8 KiB.
    HeadersTooLarge,
    /// `501 Not Implemented`: a chunked body, or an unknown method.
    NotImplemented,
}

impl Status {
    /// The status line, with its line ending.
    fn line(self) -> &'static [u8] {
        match self {
            Status::Ok => b"HTTP/1.1 200 OK\r\n",
            Status::BadRequest => b"HTTP/1.1 400 Bad Request\r\n",
            Status::NotFound => b"HTTP/1.1 404 Not Found\r\n",
            Status::RequestTimeout => b"HTTP/1.1 408 Request Timeout\r\n",
            Status::HeadersTooLarge => b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
            Status::NotImplemented => b"HTTP/1.1 501 Not Implemented\r\n",
        }
    }

    /// The body of an error answer: the reason phrase, for a human at `curl`.
    pub fn reason_body(self) -> &'static [u8] {
        match self {
            Status::Ok => b"OK\n",
            Status::BadRequest => b"Bad Request\n",
            Status::NotFound => b"Not Found\n",
            Status::RequestTimeout => b"Request Timeout\n",
            Status::HeadersTooLarge => b"Request Header Fields Too Large\n",
            Status::NotImplemented => b"Not Implemented\n",
        }
    }
}

/// What the `Connection` header says, if it is sent at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// No header: HTTP/1.1 keeps the connection by default.
    Default,
    /// `Connection: keep-alive`: an HTTP/1.0 client asked to keep it.
    KeepAlive,
    /// `Connection: close`: the server closes after this response.
    Close,
}

/// One response to write.
#[derive(Debug, Clone, Copy)]
pub struct Response<'a> {
    /// The status.
    pub status: Status,
    /// The `Content-Type`.
    pub content_type: &'static str,
    /// The body (its length is the `Content-Length`).
    pub body: &'a [u8],
    /// The `Connection` header.
    pub connection: Connection,
    /// A `HEAD` request: every header as for `GET`, no body.
    pub head_only: bool,
}

impl Response<'_> {
    /// Appends the response to `out`, with `date` as its `Date`.
    pub fn write_to(&self, out: &mut Vec<u8>, date: &[u8; IMF_FIXDATE_LEN]) {
        out.extend_from_slice(self.status.line());
        out.extend_from_slice(b"Server: ");
        out.extend_from_slice(SERVER.as_bytes());
        out.extend_from_slice(b"\r\nDate: ");
        out.extend_from_slice(date);
        out.extend_from_slice(b"\r\nContent-Type: ");
        out.extend_from_slice(self.content_type.as_bytes());
        out.extend_from_slice(b"\r\nContent-Length: ");
        push_decimal(out, self.body.len() as u64);
        out.extend_from_slice(match self.connection {
            Connection::Default => &b"\r\n\r\n"[..],
            Connection::KeepAlive => b"\r\nConnection: keep-alive\r\n\r\n",
            Connection::Close => b"\r\nConnection: close\r\n\r\n",
        });
        if !self.head_only {
            out.extend_from_slice(self.body);
        }
    }
}

/// Whose counters `/stats` reports.
#[derive(Debug, Clone, Copy)]
pub enum StatsView<'a> {
    /// The one loop's.
    Loop(&'a Stats),
    /// Every worker's (`--workers`): totals, and each worker's share.
    Workers(&'a StatsBoard),
}

/// Appends `/stats`' body: one JSON object of counters, `requests` being
/// this loop's `requests` when it is the only one; with several workers,
/// the totals and a `workers` array with each one's counts.
pub fn write_stats_json(out: &mut Vec<u8>, view: StatsView<'_>, requests: u64) {
    let (total, requests) = match view {
        StatsView::Loop(stats) => (*stats, requests),
        StatsView::Workers(board) => (board.total(), board.total().requests),
    };
    out.push(b'{');
    write_fields(out, &total, requests, true);
    if let StatsView::Workers(board) = view {
        out.extend_from_slice(b",\"workers\":[");
        for n in 0..board.len() {
            if n > 0 {
                out.push(b',');
            }
            let worker = board.get(n);
            out.push(b'{');
            write_fields(out, &worker, worker.requests, false);
            out.push(b'}');
        }
        out.push(b']');
    }
    out.extend_from_slice(b"}\n");
}

/// The counters as `"name":value` pairs; `all` adds the loop's turns and
/// events to the connection and byte counts.
fn write_fields(out: &mut Vec<u8>, stats: &Stats, requests: u64, all: bool) {
    let mut fields = vec![
        ("accepted", stats.accepted),
        ("open", stats.open),
        ("refused", stats.refused),
        ("requests", requests),
        ("bytes_in", stats.bytes_in),
        ("bytes_out", stats.bytes_out),
    ];
    if all {
        fields.extend([("turns", stats.turns), ("events", stats.events)]);
    }
    for (i, (name, value)) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
        push_decimal(out, value);
    }
}

/// Appends `n` in decimal, without going through `fmt`.
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::FromUtf8Error;

    const DATE: &[u8; IMF_FIXDATE_LEN] = b"Sun, 06 Nov 1994 08:49:37 GMT";

    fn written(response: Response) -> Result<String, FromUtf8Error> {
        let mut out = Vec::new();
        response.write_to(&mut out, DATE);
        String::from_utf8(out)
    }

    fn hello(connection: Connection, head_only: bool) -> Response<'static> {
        Response {
            status: Status::Ok,
            content_type: "text/plain",
            body: b"Hello, World!",
            connection,
            head_only,
        }
    }

    #[test]
    fn the_hello_response_is_exact() -> Result<(), FromUtf8Error> {
        assert_eq!(
            written(hello(Connection::Default, false))?,
            "HTTP/1.1 200 OK\r\nServer: reactor\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
             Content-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!"
        );
        Ok(())
    }

    #[test]
    fn connection_headers_and_head_requests() -> Result<(), FromUtf8Error> {
        let close = written(hello(Connection::Close, false))?;
        assert!(close.ends_with("Content-Length: 13\r\nConnection: close\r\n\r\nHello, World!"));
        let keep = written(hello(Connection::KeepAlive, true))?;
        assert!(keep.ends_with("Content-Length: 13\r\nConnection: keep-alive\r\n\r\n"));
        Ok(())
    }

    #[test]
    fn the_refusal_is_a_complete_closing_503() -> Result<(), std::str::Utf8Error> {
        let refusal = std::str::from_utf8(REFUSAL)?;
        let (head, body) = refusal.split_once("\r\n\r\n").unwrap_or_default();
        assert!(head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
        assert!(head.contains("\r\nConnection: close"));
        let length = format!("\r\nContent-Length: {}\r\n", body.len());
        assert!(refusal.contains(&length), "{refusal:?}");
        assert_eq!(body, "Service Unavailable\n");
        Ok(())
    }

    #[test]
    fn stats_are_one_json_object_of_numbers() -> Result<(), FromUtf8Error> {
        let stats = Stats {
            accepted: 3,
            open: 1,
            bytes_in: 1234,
            ..Stats::default()
        };
        let mut out = Vec::new();
        write_stats_json(
            &mut out,
            StatsView::Loop(&stats),
            18_446_744_073_709_551_615,
        );
        assert_eq!(
            String::from_utf8(out)?,
            "{\"accepted\":3,\"open\":1,\"refused\":0,\"requests\":18446744073709551615,\
             \"bytes_in\":1234,\"bytes_out\":0,\"turns\":0,\"events\":0}\n"
        );
        Ok(())
    }
}
