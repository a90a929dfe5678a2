//! `--mode http`: `GET /` on keep-alive connections, `--pipeline` deep
//! (the generator itself is `requests.rs`).
//!
//! Responses are counted by parsing each status line and header block with
//! `httparse::Response` and skipping the `Content-Length` bytes of body
//! that follow; what has not arrived yet is left unconsumed and offered
//! again with the next bytes (the loop keeps it). A status outside 2xx is
//! an error; the response still counts as answered. Interim `1xx`
//! responses (`100 Continue`) are skipped: the final response follows
//! them (RFC 9110 section 15.2).

use super::requests::{Answer, Broken, Exchange, RequestLoad};
use super::tally::Plan;

/// The HTTP load generator.
pub type HttpLoad = RequestLoad<HttpExchange>;

/// The request every connection sends.
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: reactor-load\r\n\r\n";

/// Headers parsed per response; a response with more is an error.
const MAX_HEADERS: usize = 32;

/// A response head longer than this is not going to complete: an error.
const MAX_HEAD: usize = 64 * 1024;

/// HTTP's requests: always `GET /`.
#[derive(Debug)]
pub struct HttpExchange;

/// The response being read on one connection.
#[derive(Debug, Default)]
pub struct Response {
    /// Body bytes still to skip.
    body_left: usize,
    /// Bytes of it so far (head and body).
    bytes: usize,
    /// Whether its status was 2xx.
    ok: bool,
}

impl Response {
    /// The response just ended.
    fn answer(&mut self) -> Answer {
        let bytes = std::mem::take(&mut self.bytes);
        if self.ok {
            Answer::Ok(bytes)
        } else {
            Answer::Failed
        }
    }
}

/// What one attempt to read a response head found.
enum Head {
    /// A whole head of this many bytes: status and body length.
    Complete(usize, u16, usize),
    /// Not all of it yet.
    Partial,
    /// Not HTTP.
    Invalid,
}

fn parse_head(input: &[u8]) -> Head {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(input) {
        Ok(httparse::Status::Complete(n)) => {
            let length = response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| std::str::from_utf8(h.value).ok())
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            Head::Complete(n, response.code.unwrap_or(0), length)
        }
        Ok(httparse::Status::Partial) if input.len() < MAX_HEAD => Head::Partial,
        Ok(httparse::Status::Partial) | Err(_) => Head::Invalid,
    }
}

impl Exchange for HttpExchange {
    type State = Response;

    fn new(_plan: &Plan) -> Self {
        HttpExchange
    }

    fn write_request(&self, out: &mut Vec<u8>, _number: u64, _seq: u64) {
        out.extend_from_slice(REQUEST);
    }

    fn read_answers(
        &self,
        response: &mut Response,
        _number: u64,
        _unanswered: usize,
        input: &[u8],
        answered: &mut dyn FnMut(Answer),
    ) -> Result<usize, Broken> {
        let mut used = 0;
        loop {
            let rest = &input[used..];
            if response.body_left > 0 {
                let skip = response.body_left.min(rest.len());
                response.body_left -= skip;
                response.bytes += skip;
                used += skip;
                if response.body_left > 0 {
                    return Ok(used);
                }
                answered(response.answer());
                continue;
            }
            match parse_head(rest) {
                _ if rest.is_empty() => return Ok(used),
                Head::Complete(n, status, _) if (100..200).contains(&status) => used += n,
                Head::Complete(n, status, length) => {
                    used += n;
                    response.bytes = n;
                    response.ok = (200..300).contains(&status);
                    response.body_left = length;
                    if length == 0 {
                        answered(response.answer());
                    }
                }
                Head::Partial => return Ok(used),
                Head::Invalid => return Err(Broken::Mismatch),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_gives_its_status_and_body_length() {
        let response = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!";
        match parse_head(response) {
            Head::Complete(n, 200, 13) => assert_eq!(n, response.len() - 13),
            _ => panic!("not parsed"),
        }
        assert!(matches!(parse_head(b"HTTP/1.1 200 OK\r\n"), Head::Partial));
        assert!(matches!(parse_head(b"garbage\r\n\r\n"), Head::Invalid));
    }

    #[test]
    fn interim_responses_are_skipped_and_errors_still_answer() {
        let input = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi\
                      HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200";
        let mut state = Response::default();
        let mut answers = Vec::new();
        let used = HttpExchange.read_answers(&mut state, 0, 3, input, &mut |a| answers.push(a));
        assert_eq!(used, Ok(input.len() - b"HTTP/1.1 200".len()));
        assert_eq!(answers, vec![Answer::Ok(40), Answer::Failed]);
    }
}
