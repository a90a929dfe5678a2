//! Where a request is for: its target (RFC 9112 section 3.2) and its
//! `Host` (RFC 9112 section 3.2, RFC 9110 section 7.2).
//!
//! `httparse` checks only that the target is made of allowed bytes; what
//! the bytes mean is decided here:
//!
//! * **origin form**, `/path?query`: what nearly every client sends;
//! * **absolute form**, `http://host:port/path?query`: what a client sends
//!   to a proxy, and what every HTTP/1.1 server must accept as well
//!   (RFC 9112 section 3.2.2). The server routes on its path; an empty
//!   path means `/`. Only `http` and `https` are accepted, with a host
//!   that is not empty and no `user@` part (RFC 9110 sections 4.2.1 and
//!   4.2.4 say a recipient must reject both);
//! * anything else (`*`, `host:port`, a bare word) names no resource
//!   this server has and is `400`.
//!
//! A `Host` value must be `host[:port]` by RFC 3986's grammar: a name of
//! unreserved characters, `%XX` escapes and sub-delimiters, an IPv4
//! address (a name by that grammar too), or an IP literal in brackets.
//! An empty value is valid: RFC 9112 section 3.2 tells a client to send
//! one when the target has no authority. `a b` or `[::1` is not, and an
//! HTTP/1.1 request carrying one is `400`, as one with no `Host` at all.
//! The server checks a `Host` even when an absolute-form target overrides
//! it (as nginx does), so a head whose `Host` a proxy in front of it would
//! read differently is refused rather than guessed at.

use std::net::Ipv6Addr;

/// The path a request target names, without its `?query`: the target
/// itself in origin form, the part after the authority in absolute form.
/// `Err` says why the target is not one this server accepts.
pub fn path_of(target: &str) -> Result<&str, &'static str> {
    let without_query = target.split_once('?').map_or(target, |(path, _)| path);
    if without_query.starts_with('/') {
        return Ok(without_query);
    }
    let Some((scheme, rest)) = without_query.split_once("://") else {
        return Err("request target neither a path nor an absolute URI");
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err("absolute URI not http or https");
    }
    let (authority, path) = rest.find('/').map_or((rest, ""), |at| rest.split_at(at));
    if !is_valid_host(authority.as_bytes()) || host_part(authority.as_bytes()).is_empty() {
        return Err("invalid authority in an absolute URI");
    }
    Ok(if path.is_empty() { "/" } else { path })
}

/// Whether `value` is a valid `Host` field value: `host[:port]`, possibly
/// empty, surrounding whitespace aside.
pub fn is_valid_host(value: &[u8]) -> bool {
    let value = value.trim_ascii();
    // Every request has a Host, nearly always a plain name or IPv4
    // address and a port: that case is one pass, one table look-up a
    // byte, instead of finding the parts first and checking each.
    let plain = value
        .iter()
        .position(|&b| !is_plain_name_byte(b))
        .unwrap_or(value.len());
    match value[plain..].split_first() {
        None => true,
        Some((b':', digits)) => digits.iter().all(u8::is_ascii_digit),
        Some(_) => is_valid_host_by_parts(value),
    }
}

/// [`is_valid_host`] for the rest: `%` escapes, IP literals, and what is
/// invalid.
fn is_valid_host_by_parts(value: &[u8]) -> bool {
    let host = host_part(value);
    let port = &value[host.len()..];
    let port_ok = match port.split_first() {
        None => true,
        Some((b':', digits)) => digits.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    };
    port_ok
        && match host.split_first() {
            Some((b'[', _)) => is_ip_literal(host),
            _ => is_reg_name(host),
        }
}

/// The host of `host[:port]`: up to the `]` of an IP literal, else up to
/// the first `:` (a name cannot hold one).
fn host_part(value: &[u8]) -> &[u8] {
    let end = match value.first() {
        Some(b'[') => value
            .iter()
            .position(|&b| b == b']')
            .map_or(value.len(), |close| close + 1),
        _ => value.iter().position(|&b| b == b':').unwrap_or(value.len()),
    };
    &value[..end]
}

/// RFC 3986 `reg-name`: unreserved characters, sub-delimiters, and `%`
/// followed by two hex digits.
fn is_reg_name(name: &[u8]) -> bool {
    let mut i = 0;
    while i < name.len() {
        match name[i] {
            b'%' if name
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) =>
            {
                i += 3
            }
            b if is_plain_name_byte(b) => i += 1,
            _ => return false,
        }
    }
    true
}

/// RFC 3986 `unreserved` and `sub-delims`. A table: a chain of
/// comparisons for each byte of every request's Host was a measurable
/// part of the cost of answering `GET /`.
fn is_plain_name_byte(b: u8) -> bool {
    PLAIN_NAME_BYTES[usize::from(b)]
}

/// `PLAIN_NAME_BYTES[b]`: whether `b` is a letter, a digit, or one of
/// `-._~!$&'()*+,;=`.
const PLAIN_NAME_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let marks = b"-._~!$&'()*+,;=";
    let mut i = 0;
    while i < marks.len() {
        table[marks[i] as usize] = true;
        i += 1;
    }
    table
};

/// RFC 3986 `IP-literal`: `[` an IPv6 address or an `IPvFuture` `]`.
fn is_ip_literal(host: &[u8]) -> bool {
    let Some(inner) = host.strip_prefix(b"[").and_then(|h| h.strip_suffix(b"]")) else {
        return false;
    };
    if let Some(future) = inner
        .strip_prefix(b"v")
        .or_else(|| inner.strip_prefix(b"V"))
    {
        // IPvFuture: "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ).
        let Some(dot) = future.iter().position(|&b| b == b'.') else {
            return false;
        };
        let (version, rest) = (&future[..dot], &future[dot + 1..]);
        return !version.is_empty()
            && version.iter().all(u8::is_ascii_hexdigit)
            && !rest.is_empty()
            && rest.iter().all(|&b| b == b':' || is_plain_name_byte(b));
    }
    std::str::from_utf8(inner).is_ok_and(|text| text.parse::<Ipv6Addr>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_form_is_the_path_without_its_query() {
        assert_eq!(path_of("/"), Ok("/"));
        assert_eq!(path_of("/stats?x=1"), Ok("/stats"));
        assert_eq!(path_of("/a/b?c?d"), Ok("/a/b"));
    }

    #[test]
    fn absolute_form_routes_on_its_path() {
        assert_eq!(path_of("http://x/"), Ok("/"));
        assert_eq!(path_of("http://x"), Ok("/"));
        assert_eq!(path_of("HTTP://example.com:8080/stats?q"), Ok("/stats"));
        assert_eq!(path_of("https://[::1]:443/missing"), Ok("/missing"));
        assert_eq!(path_of("http://127.0.0.1?q=/x"), Ok("/"));
    }

    #[test]
    fn other_targets_are_refused() {
        for bad in [
            "*",
            "x",
            "example.com:80",
            "ftp://x/",
            "http:/x/",
            "http:///",
            "http://user@x/",
            "http://a b/",
            "http://[::1/",
            "http://x:8o/",
        ] {
            assert!(path_of(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn valid_hosts() {
        for good in [
            &b"example.com"[..],
            b"example.com:8080",
            b"127.0.0.1:80",
            b"[::1]",
            b"[::1]:8080",
            b"[v1.fe80::a+en1]",
            b"caf%C3%A9.example",
            b"a_b~c!$&'()*+,;=",
            b"x:",
            b"",
            b"  test  ",
        ] {
            assert!(is_valid_host(good), "{:?}", String::from_utf8_lossy(good));
        }
    }

    #[test]
    fn invalid_hosts() {
        for bad in [
            &b"a b"[..],
            b"[::1",
            b"::1",
            b"[::1]x",
            b"[::g]",
            b"[v1.]",
            b"[vx.a]",
            b"host:port",
            b"a:1:2",
            b"user@host",
            b"a/b",
            b"%4",
            b"%zz",
            b"h\xc3\xa9",
        ] {
            assert!(!is_valid_host(bad), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
