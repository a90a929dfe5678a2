//! Request heads: bytes in, a small parsed request out.
//!
//! [`httparse`] does the parsing: it is the parser hyper, reqwest and
//! actix build on, it never allocates and never copies (fields are slices
//! of the input), and it says "incomplete" instead of failing when the head
//! has not fully arrived. What is left for this module is the part HTTP
//! semantics decide:
//!
//! * which headers matter here: `Connection` (keep-alive or close),
//!   `Content-Length` and `Transfer-Encoding` (how long the body is),
//!   `Host` (required by HTTP/1.1, and checked: `target.rs`),
//!   `Expect: 100-continue`;
//! * where the request is for: its target, in origin or absolute form
//!   (`target.rs`);
//! * the limits: a head over [`MAX_HEAD`] bytes or [`MAX_HEADERS`] fields is
//!   refused *before* it is all read, so a client cannot make the server
//!   buffer without bound;
//! * turning every way a request can be wrong into one of three answers
//!   ([`RequestError`]), each of which ends the connection.
//!
//! Like mini-redis's `Frame::check`, [`parse`] returns `Ok(None)` for "not
//! all here yet, read more".

use std::fmt;
use std::mem::MaybeUninit;

use super::target;

/// Largest request head accepted, from the request line to the empty line
/// that ends it: 8 KiB (`docs/reference.md`, "HTTP"; nginx's
/// `large_client_header_buffers` and Apache's `LimitRequestFieldSize` are
/// about the same).
pub const MAX_HEAD: usize = 8 * 1024;

/// Most header fields in one head: hyper's default. A head over it is
/// answered like one over [`MAX_HEAD`].
pub const MAX_HEADERS: usize = 100;

/// The request methods this server tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `HEAD`: like `GET`, without the body.
    Head,
    /// `POST`: answered like `GET`; its body is read and discarded.
    Post,
}

/// HTTP/1.0 or HTTP/1.1 (httparse accepts no other version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.0: the connection closes after each response unless the
    /// client asks for `Connection: keep-alive`.
    Http10,
    /// HTTP/1.1: the connection stays open unless `Connection: close`.
    Http11,
}

/// One parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    /// The method.
    pub method: Method,
    /// The path, without any `?query`.
    pub path: &'a str,
    /// The protocol version.
    pub version: Version,
    /// Whether the client wants the connection kept open after the response.
    pub keep_alive: bool,
    /// Bytes of body that follow the head (`Content-Length`, else 0).
    pub body_len: u64,
    /// `Expect: 100-continue`: the client waits for a `100 Continue` before
    /// it sends the body.
    pub expect_continue: bool,
    /// Bytes the head took, up to and including the empty line.
    pub head_len: usize,
}

/// Why a request cannot be answered normally. Each maps to a status code,
/// and each ends the connection: after a request the server could not
/// frame, it cannot know where the next one starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    /// `400 Bad Request`: not HTTP/1.x, or contradictory framing.
    BadRequest(&'static str),
    /// `431 Request Header Fields Too Large`: over [`MAX_HEAD`] or
    /// [`MAX_HEADERS`].
    TooLarge(&'static str),
    /// `501 Not Implemented`: a body in a transfer coding (`chunked`), or a
    /// method other than GET, HEAD and POST.
    NotImplemented(&'static str),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::BadRequest(why)
            | RequestError::TooLarge(why)
            | RequestError::NotImplemented(why) => f.write_str(why),
        }
    }
}

/// Parses the request head at the start of `input`.
///
/// `scanned` is how many bytes of `input` an earlier call already saw
/// without finding the end of the head (0 for a fresh head). A slow client
/// that sends its head a byte at a time is then only searched for the end
/// in the new bytes, and handed to httparse once the end has arrived: the
/// whole head costs linear time, not quadratic.
///
/// Returns `Ok(None)` while the head is incomplete and within the limits.
pub fn parse(input: &[u8], scanned: usize) -> Result<Option<Request<'_>>, RequestError> {
    // httparse never needs to look past the largest head allowed.
    let window = &input[..input.len().min(MAX_HEAD)];
    if scanned > 0 && !has_head_end(window, scanned) {
        return unfinished(input);
    }
    let mut headers = [const { MaybeUninit::<httparse::Header>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let head_len = match req.parse_with_uninit_headers(window, &mut headers) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return unfinished(input),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(RequestError::TooLarge("too many header fields"))
        }
        Err(e) => return Err(RequestError::BadRequest(describe(e))),
    };
    // A complete parse fills all three; the defaults are never used.
    let version = match req.version {
        Some(0) => Version::Http10,
        _ => Version::Http11,
    };
    let method = match req.method.unwrap_or_default() {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        _ => return Err(RequestError::NotImplemented("method not implemented")),
    };
    let path = target::path_of(req.path.unwrap_or_default()).map_err(RequestError::BadRequest)?;

    let mut fields = Fields::default();
    for header in req.headers.iter() {
        fields.note(header.name, header.value)?;
    }
    if (version == Version::Http11 && fields.hosts != 1) || fields.hosts > 1 {
        // RFC 9112 section 3.2: exactly one Host in HTTP/1.1.
        return Err(RequestError::BadRequest("missing or repeated Host"));
    }
    if fields.invalid_host {
        return Err(RequestError::BadRequest("invalid Host"));
    }
    if fields.transfer_encoding {
        return Err(RequestError::NotImplemented(
            "Transfer-Encoding request bodies are not supported",
        ));
    }
    let keep_alive = match version {
        Version::Http11 => !fields.close,
        Version::Http10 => fields.keep_alive && !fields.close,
    };
    Ok(Some(Request {
        method,
        path,
        version,
        keep_alive,
        body_len: fields.content_length.unwrap_or(0),
        expect_continue: fields.expect_continue && version == Version::Http11,
        head_len,
    }))
}

/// The head has not ended in `input`: read more, unless it is already as
/// large as a head may be.
fn unfinished(input: &[u8]) -> Result<Option<Request<'_>>, RequestError> {
    if input.len() >= MAX_HEAD {
        Err(RequestError::TooLarge("request head over 8 KiB"))
    } else {
        Ok(None)
    }
}

/// Whether `bytes` holds an empty line (`\n\n` or `\n\r\n`, the ends
/// httparse accepts) that ends at or after `from`.
fn has_head_end(bytes: &[u8], from: usize) -> bool {
    // The end may have begun in the last two bytes already searched.
    let start = from.saturating_sub(2);
    bytes
        .get(start..)
        .unwrap_or_default()
        .windows(2)
        .enumerate()
        .any(|(i, pair)| match pair {
            [b'\n', b'\n'] => true,
            [b'\n', b'\r'] => bytes.get(start + i + 2) == Some(&b'\n'),
            _ => false,
        })
}

/// The header fields that decide framing and keep-alive, gathered while
/// walking the head once.
#[derive(Debug, Default)]
struct Fields {
    content_length: Option<u64>,
    transfer_encoding: bool,
    close: bool,
    keep_alive: bool,
    expect_continue: bool,
    hosts: usize,
    invalid_host: bool,
}

impl Fields {
    fn note(&mut self, name: &str, value: &[u8]) -> Result<(), RequestError> {
        if name.eq_ignore_ascii_case("content-length") {
            let length =
                parse_length(value).ok_or(RequestError::BadRequest("invalid Content-Length"))?;
            // Repeats must agree (RFC 9112 section 6.3), or the body's end
            // is ambiguous: the root of request smuggling.
            if self.content_length.is_some_and(|seen| seen != length) {
                return Err(RequestError::BadRequest("conflicting Content-Length"));
            }
            self.content_length = Some(length);
        } else if name.eq_ignore_ascii_case("connection") {
            for option in value.split(|&b| b == b',') {
                let option = option.trim_ascii();
                self.close |= option.eq_ignore_ascii_case(b"close");
                self.keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case("host") {
            self.hosts += 1;
            self.invalid_host |= !target::is_valid_host(value);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            self.transfer_encoding = true;
        } else if name.eq_ignore_ascii_case("expect") {
            self.expect_continue |= value.trim_ascii().eq_ignore_ascii_case(b"100-continue");
        }
        Ok(())
    }
}

/// A `Content-Length` value: ASCII digits only, no sign, no overflow.
fn parse_length(value: &[u8]) -> Option<u64> {
    let digits = value.trim_ascii();
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// httparse's errors, said for the log.
fn describe(e: httparse::Error) -> &'static str {
    match e {
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status | httparse::Error::Token => "invalid request line",
        httparse::Error::TooManyHeaders => "too many header fields",
        httparse::Error::Version => "not HTTP/1.0 or HTTP/1.1",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GET: &[u8] = b"GET /?q=1 HTTP/1.1\r\nHost: a\r\nUser-Agent: t\r\n\r\n";

    fn complete(input: &[u8]) -> Request<'_> {
        match parse(input, 0) {
            Ok(Some(req)) => req,
            other => panic!("{other:?} for {:?}", String::from_utf8_lossy(input)),
        }
    }

    fn error(input: &[u8]) -> RequestError {
        match parse(input, 0) {
            Err(e) => e,
            other => panic!("{other:?} for {:?}", String::from_utf8_lossy(input)),
        }
    }

    #[test]
    fn a_plain_get_is_parsed_and_its_query_dropped() {
        let mut input = GET.to_vec();
        input.extend_from_slice(b"GET /next");
        let req = complete(&input);
        assert_eq!(req.method, Method::Get);
        assert_eq!(req.path, "/");
        assert_eq!(req.version, Version::Http11);
        assert!(req.keep_alive);
        assert_eq!(req.body_len, 0);
        assert_eq!(req.head_len, GET.len());
    }

    #[test]
    fn every_prefix_of_a_head_is_incomplete_whatever_was_scanned() {
        for cut in 0..GET.len() {
            assert_eq!(parse(&GET[..cut], 0), Ok(None), "cut at {cut}");
            assert_eq!(parse(&GET[..cut], cut.saturating_sub(1)), Ok(None));
        }
        // Found although the end began in bytes scanned before.
        for scanned in GET.len() - 4..GET.len() {
            assert_eq!(Ok(Some(complete(GET))), parse(GET, scanned));
        }
        let bare = b"GET / HTTP/1.0\n\n";
        assert_eq!(
            parse(bare, bare.len() - 1).map(|req| req.map(|req| req.head_len)),
            Ok(Some(16))
        );
    }

    #[test]
    fn an_absolute_form_target_means_its_path() {
        let req = complete(b"GET http://a:8080/stats?q HTTP/1.1\r\nHost: a:8080\r\n\r\n");
        assert_eq!(req.path, "/stats");
        assert_eq!(
            complete(b"GET http://a HTTP/1.1\r\nHost: a\r\n\r\n").path,
            "/"
        );
        // Still HTTP/1.1: the Host field is required all the same.
        assert!(matches!(
            error(b"GET http://a/ HTTP/1.1\r\n\r\n"),
            RequestError::BadRequest(_)
        ));
    }

    #[test]
    fn keep_alive_follows_the_version_and_connection_header() {
        let keep = |head: &[u8]| complete(head).keep_alive;
        assert!(!keep(b"GET / HTTP/1.0\r\n\r\n"));
        assert!(keep(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
        assert!(!keep(
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        ));
        assert!(!keep(
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade, CLOSE\r\n\r\n"
        ));
        assert!(keep(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: x\r\n\r\n"));
    }

    #[test]
    fn content_length_is_read_and_checked() {
        let req = complete(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello");
        assert_eq!((req.method, req.body_len), (Method::Post, 5));
        let same = b"POST / HTTP/1.1\r\nHost: a\r\ncontent-length: 5\r\nContent-Length: 5\r\n\r\n";
        assert_eq!(complete(same).body_len, 5);
        for bad in [
            &b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"[..],
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n",
        ] {
            assert!(matches!(error(bad), RequestError::BadRequest(_)));
        }
    }

    #[test]
    fn malformed_heads_are_bad_requests() {
        for bad in [
            &b"GARBAGE\r\n\r\n"[..],
            b"GET / HTTP/2.0\r\n\r\n",
            b"GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Name: x\r\nHost: a\r\n\r\n",
            b"GET / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n",
            b"GET / HTTP/1.0\r\nHost: a@b\r\n\r\n",
            b"GET * HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET http://a b/ HTTP/1.1\r\nHost: a\r\n\r\n",
        ] {
            assert!(
                matches!(error(bad), RequestError::BadRequest(_)),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn chunked_bodies_and_other_methods_are_not_implemented() {
        let chunked = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(matches!(error(chunked), RequestError::NotImplemented(_)));
        let delete = b"DELETE / HTTP/1.1\r\nHost: a\r\n\r\n";
        assert!(matches!(error(delete), RequestError::NotImplemented(_)));
    }

    #[test]
    fn heads_over_the_limits_are_too_large_before_they_end() {
        let mut big = b"GET / HTTP/1.1\r\nHost: a\r\nX-Fill: ".to_vec();
        big.resize(MAX_HEAD, b'x');
        assert!(matches!(error(&big), RequestError::TooLarge(_)));
        assert_eq!(parse(&big[..MAX_HEAD - 1], 0), Ok(None));
        big.extend_from_slice(b"\r\n\r\n");
        assert!(matches!(error(&big), RequestError::TooLarge(_)));

        let mut many = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
        for i in 0..MAX_HEADERS {
            many.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert!(matches!(error(&many), RequestError::TooLarge(_)));
    }

    #[test]
    fn expect_continue_is_noted_for_http_1_1() {
        let head =
            b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
        assert!(complete(head).expect_continue);
        assert!(!complete(GET).expect_continue);
    }
}
