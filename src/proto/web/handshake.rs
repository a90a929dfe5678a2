//! The WebSocket opening handshake (RFC 6455 section 4.2): an HTTP/1.1
//! `GET` that asks to switch the connection to WebSocket, and the
//! `101 Switching Protocols` that agrees.
//!
//! ```text
//! GET /ws HTTP/1.1                     HTTP/1.1 101 Switching Protocols
//! Host: server.example.com             Upgrade: websocket
//! Upgrade: websocket                   Connection: Upgrade
//! Connection: Upgrade                  Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
//! Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
//! Sec-WebSocket-Version: 13
//! ```
//!
//! The key is 16 random bytes in base64; the server proves it read the
//! request by answering with base64(SHA-1(key + a fixed GUID)). That is
//! not security: it keeps a confused HTTP client or cache from mistaking
//! some other response for a WebSocket one.
//!
//! The head itself is parsed by `httparse` (as `proto/http/request.rs`
//! does), and the caller checks the method (`GET`) and version (1.1)
//! while routing. [`check`] takes the header fields as `(name, value)`
//! pairs, so `req.headers.iter().map(|h| (h.name, h.value))` passes
//! httparse's fields without a copy. No extension (`permessage-deflate`)
//! and no subprotocol is agreed to: the response names none, so the
//! client may use neither.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use sha1::{Digest, Sha1};

/// The GUID every server appends to the key (RFC 6455 section 1.3).
pub const ACCEPT_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The only protocol version there is (RFC 6455 section 4.1); anything
/// else is answered with 426 and this version.
pub const VERSION: &str = "13";

/// A request that may be upgraded, and what the `101` must say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The `Sec-WebSocket-Accept` value: 28 characters of base64.
    pub accept: String,
}

/// Why a request cannot be upgraded. Each maps to a status; the response
/// closes the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeError {
    /// `400 Bad Request`: not a WebSocket upgrade, or a malformed one.
    BadRequest(&'static str),
    /// `426 Upgrade Required`: a `Sec-WebSocket-Version` other than 13, or
    /// none; the response names version 13.
    UnsupportedVersion,
}

impl HandshakeError {
    /// The HTTP status code of the response.
    pub fn status(self) -> u16 {
        match self {
            HandshakeError::BadRequest(_) => 400,
            HandshakeError::UnsupportedVersion => 426,
        }
    }

    /// What went wrong, for the response body and the log.
    pub fn reason(self) -> &'static str {
        match self {
            HandshakeError::BadRequest(why) => why,
            HandshakeError::UnsupportedVersion => "unsupported Sec-WebSocket-Version (13 only)",
        }
    }

    /// Appends the whole error response: status line, headers and a one-line
    /// plain-text body. It ends with `Connection: close`.
    pub fn write_response(self, out: &mut Vec<u8>) {
        let body = self.reason();
        match self {
            HandshakeError::BadRequest(_) => {
                out.extend_from_slice(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n");
            }
            HandshakeError::UnsupportedVersion => {
                // RFC 9110 section 15.5.22: a 426 names the protocol to
                // upgrade to; RFC 6455 section 4.4: and the versions spoken.
                out.extend_from_slice(
                    b"HTTP/1.1 426 Upgrade Required\r\n\
                      Sec-WebSocket-Version: 13\r\n\
                      Upgrade: websocket\r\n\
                      Connection: Upgrade, close\r\n",
                );
            }
        }
        out.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: ");
        out.extend_from_slice((body.len() + 1).to_string().as_bytes());
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(body.as_bytes());
        out.push(b'\n');
    }
}

/// Checks the header fields of an upgrade request: `Upgrade: websocket`,
/// `Connection` listing `upgrade` (any case, among other tokens),
/// `Sec-WebSocket-Version: 13`, and one `Sec-WebSocket-Key` that is 16
/// bytes in base64. Returns what the `101` response must carry.
pub fn check<'h, I>(headers: I) -> Result<Accepted, HandshakeError>
where
    I: IntoIterator<Item = (&'h str, &'h [u8])>,
{
    let mut upgrade = false;
    let mut connection_upgrade = false;
    let mut versions = 0;
    let mut version_ok = false;
    let mut key: Option<&[u8]> = None;
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("upgrade") {
            upgrade |= has_token(value, b"websocket");
        } else if name.eq_ignore_ascii_case("connection") {
            connection_upgrade |= has_token(value, b"upgrade");
        } else if name.eq_ignore_ascii_case("sec-websocket-version") {
            versions += 1;
            version_ok = value.trim_ascii() == VERSION.as_bytes();
        } else if name.eq_ignore_ascii_case("sec-websocket-key") {
            if key.is_some() {
                return Err(HandshakeError::BadRequest("repeated Sec-WebSocket-Key"));
            }
            key = Some(value.trim_ascii());
        }
    }
    if !upgrade {
        return Err(HandshakeError::BadRequest(
            "not a WebSocket upgrade (Upgrade: websocket)",
        ));
    }
    if !connection_upgrade {
        return Err(HandshakeError::BadRequest(
            "Connection header does not list upgrade",
        ));
    }
    if versions > 1 {
        return Err(HandshakeError::BadRequest("repeated Sec-WebSocket-Version"));
    }
    if !version_ok {
        return Err(HandshakeError::UnsupportedVersion);
    }
    let key = key.ok_or(HandshakeError::BadRequest("missing Sec-WebSocket-Key"))?;
    match BASE64.decode(key) {
        Ok(nonce) if nonce.len() == 16 => {}
        _ => {
            return Err(HandshakeError::BadRequest(
                "Sec-WebSocket-Key is not 16 bytes in base64",
            ))
        }
    }
    Ok(Accepted {
        accept: accept_key(key),
    })
}

/// `Sec-WebSocket-Accept` for a key: base64(SHA-1(key + GUID)).
pub fn accept_key(key: &[u8]) -> String {
    let digest = Sha1::new()
        .chain_update(key)
        .chain_update(ACCEPT_GUID)
        .finalize();
    BASE64.encode(digest)
}

/// Appends the `101 Switching Protocols` response. The bytes after it on
/// the connection are WebSocket frames.
pub fn write_switching_protocols(out: &mut Vec<u8>, accepted: &Accepted) {
    out.extend_from_slice(
        b"HTTP/1.1 101 Switching Protocols\r\n\
          Upgrade: websocket\r\n\
          Connection: Upgrade\r\n\
          Sec-WebSocket-Accept: ",
    );
    out.extend_from_slice(accepted.accept.as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
}

/// Whether a comma-separated header value lists `token`, in any case
/// (`Connection: keep-alive, Upgrade`).
fn has_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|item| item.trim_ascii().eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request of RFC 6455 section 1.3 (its handshake example).
    const RFC_REQUEST: [(&str, &[u8]); 6] = [
        ("Host", b"server.example.com"),
        ("Upgrade", b"websocket"),
        ("Connection", b"Upgrade"),
        ("Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ=="),
        ("Origin", b"http://example.com"),
        ("Sec-WebSocket-Version", b"13"),
    ];

    /// The RFC request with `name` replaced by `value` (or removed).
    fn with(name: &str, value: Option<&'static [u8]>) -> Vec<(&'static str, &'static [u8])> {
        let mut fields: Vec<_> = RFC_REQUEST
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
            .copied()
            .collect();
        if let Some(value) = value {
            // The name in another case: header names ignore case.
            let lower = match name {
                "Upgrade" => "upgrade",
                "Connection" => "CONNECTION",
                "Sec-WebSocket-Key" => "sec-websocket-key",
                _ => "Sec-Websocket-Version",
            };
            fields.push((lower, value));
        }
        fields
    }

    #[test]
    fn the_rfc_example_is_accepted_with_the_rfc_accept_value() -> Result<(), HandshakeError> {
        let accepted = check(RFC_REQUEST)?;
        assert_eq!(accepted.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        let mut out = Vec::new();
        write_switching_protocols(&mut out, &accepted);
        assert_eq!(
            out,
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
              Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        );
        Ok(())
    }

    #[test]
    fn header_names_and_tokens_ignore_case_and_lists_are_searched() -> Result<(), HandshakeError> {
        // Firefox sends `Connection: keep-alive, Upgrade`.
        check(with("Connection", Some(b"keep-alive, Upgrade")))?;
        check(with("Connection", Some(b" UPGRADE ")))?;
        check(with("Upgrade", Some(b"WebSocket")))?;
        check(with("Sec-WebSocket-Version", Some(b" 13 ")))?;
        Ok(())
    }

    #[test]
    fn missing_or_wrong_upgrade_and_connection_are_400() {
        for fields in [
            with("Upgrade", None),
            with("Upgrade", Some(b"h2c")),
            with("Connection", None),
            with("Connection", Some(b"keep-alive")),
            with("Connection", Some(b"upgraded")),
        ] {
            let err = check(fields.clone()).err();
            assert!(
                matches!(err, Some(HandshakeError::BadRequest(_))),
                "{fields:?}: {err:?}"
            );
        }
    }

    #[test]
    fn another_version_or_none_is_426_naming_13() {
        for fields in [
            with("Sec-WebSocket-Version", Some(b"8")),
            with("Sec-WebSocket-Version", Some(b"13, 8")),
            with("Sec-WebSocket-Version", None),
        ] {
            assert_eq!(
                check(fields).err(),
                Some(HandshakeError::UnsupportedVersion)
            );
        }
        let mut out = Vec::new();
        HandshakeError::UnsupportedVersion.write_response(&mut out);
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\nSec-WebSocket-Version: 13\r\n"), "{text}");
        assert_eq!(HandshakeError::UnsupportedVersion.status(), 426);
    }

    #[test]
    fn a_key_that_is_not_16_bytes_of_base64_is_400() {
        let bad_keys: [&'static [u8]; 6] = [
            b"",
            b"not base64 at all!!!!!!!",
            b"dGhlIHNhbXBsZSBub25jZQ",   // padding missing
            b"dGhlIHNhbXBsZSBub25j",     // 15 bytes
            b"dGhlIHNhbXBsZSBub25jZTEy", // 18 bytes
            b"\xff\xfe",
        ];
        for key in bad_keys {
            let err = check(with("Sec-WebSocket-Key", Some(key))).err();
            assert!(
                matches!(err, Some(HandshakeError::BadRequest(_))),
                "{key:?}"
            );
        }
        assert!(check(with("Sec-WebSocket-Key", None)).is_err());
        let mut twice = RFC_REQUEST.to_vec();
        twice.push(("Sec-WebSocket-Key", b"AAAAAAAAAAAAAAAAAAAAAA=="));
        assert_eq!(
            check(twice).err(),
            Some(HandshakeError::BadRequest("repeated Sec-WebSocket-Key"))
        );
    }

    #[test]
    fn the_400_response_is_complete_http() {
        let err = HandshakeError::BadRequest("missing Sec-WebSocket-Key");
        let mut out = Vec::new();
        err.write_response(&mut out);
        let text = String::from_utf8_lossy(&out);
        let body = "missing Sec-WebSocket-Key\n";
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
        assert!(text.contains(&format!("Content-Length: {}\r\n", body.len())));
        assert!(text.ends_with(&format!("\r\n\r\n{body}")), "{text}");
        assert_eq!(err.status(), 400);
    }
}
