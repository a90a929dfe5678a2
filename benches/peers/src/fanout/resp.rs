//! RESP2, the Redis serialization protocol, as far as pub/sub needs it:
//! commands out (arrays of bulk strings), replies in (simple strings,
//! errors, integers, bulk strings, arrays).
//!
//! The parser is incremental in the simplest way: it either finds a whole
//! value at the start of the input, or says "not yet" and is called again
//! on the same bytes plus more.

/// One RESP value, borrowing its bytes from the input.
#[derive(Debug, PartialEq, Eq)]
pub enum Value<'a> {
    Simple(&'a [u8]),
    Error(&'a [u8]),
    Int(i64),
    Bulk(&'a [u8]),
    Array(Vec<Value<'a>>),
    Nil,
}

/// Arrays nest deeper than this only in replies pub/sub never sends.
const MAX_DEPTH: usize = 4;

/// `*N\r\n` then `$len\r\narg\r\n` for each argument.
pub fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The first complete value in `input` and the bytes it took; `None` if
/// it is not all there yet; `Err` if the bytes are not RESP.
pub fn parse(input: &[u8]) -> Result<Option<(Value<'_>, usize)>, String> {
    value(input, 0)
}

fn value(input: &[u8], depth: usize) -> Result<Option<(Value<'_>, usize)>, String> {
    let Some(end) = input.windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    let Some((&kind, line)) = input[..end].split_first() else {
        return Err("empty RESP line".into());
    };
    let after = end + 2;
    match kind {
        b'+' => Ok(Some((Value::Simple(line), after))),
        b'-' => Ok(Some((Value::Error(line), after))),
        b':' => Ok(Some((Value::Int(number(line)?), after))),
        b'$' => bulk(input, number(line)?, after),
        b'*' if depth < MAX_DEPTH => array(input, number(line)?, after, depth),
        _ => Err(format!(
            "not RESP: {:?}",
            String::from_utf8_lossy(&input[..end])
        )),
    }
}

fn bulk(input: &[u8], len: i64, start: usize) -> Result<Option<(Value<'_>, usize)>, String> {
    let Ok(len) = usize::try_from(len) else {
        return Ok(Some((Value::Nil, start)));
    };
    let end = start + len;
    if input.len() < end + 2 {
        return Ok(None);
    }
    if &input[end..end + 2] != b"\r\n" {
        return Err("bulk string without its CRLF".into());
    }
    Ok(Some((Value::Bulk(&input[start..end]), end + 2)))
}

fn array(
    input: &[u8],
    count: i64,
    mut at: usize,
    depth: usize,
) -> Result<Option<(Value<'_>, usize)>, String> {
    let Ok(count) = usize::try_from(count) else {
        return Ok(Some((Value::Nil, at)));
    };
    let mut items = Vec::with_capacity(count.min(16));
    for _ in 0..count {
        match value(&input[at..], depth + 1)? {
            None => return Ok(None),
            Some((item, used)) => {
                items.push(item);
                at += used;
            }
        }
    }
    Ok(Some((Value::Array(items), at)))
}

fn number(digits: &[u8]) -> Result<i64, String> {
    std::str::from_utf8(digits)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| format!("not a RESP number: {:?}", String::from_utf8_lossy(digits)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        assert_eq!(
            command(&[b"SUBSCRIBE", b"c"]),
            b"*2\r\n$9\r\nSUBSCRIBE\r\n$1\r\nc\r\n"
        );
    }

    #[test]
    fn every_kind_of_reply() -> Result<(), String> {
        assert_eq!(parse(b"+OK\r\n")?, Some((Value::Simple(b"OK"), 5)));
        assert_eq!(parse(b"-ERR x\r\n")?, Some((Value::Error(b"ERR x"), 8)));
        assert_eq!(parse(b":-3\r\n")?, Some((Value::Int(-3), 5)));
        assert_eq!(parse(b"$-1\r\n")?, Some((Value::Nil, 5)));
        assert_eq!(parse(b"$2\r\nab\r\nrest")?, Some((Value::Bulk(b"ab"), 8)));
        assert_eq!(
            parse(b"*2\r\n:1\r\n$0\r\n\r\n")?,
            Some((Value::Array(vec![Value::Int(1), Value::Bulk(b"")]), 14))
        );
        Ok(())
    }

    #[test]
    fn a_value_cut_anywhere_is_not_yet_complete() -> Result<(), String> {
        let whole = b"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$5\r\nhello\r\n";
        for cut in 0..whole.len() {
            assert_eq!(parse(&whole[..cut])?, None, "cut at {cut}");
        }
        assert!(parse(whole)?.is_some());
        Ok(())
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse(b"hello\r\n").is_err());
        assert!(parse(b":x\r\n").is_err());
        assert!(parse(b"$2\r\nabcd").is_err());
        assert!(parse(b"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n").is_err());
    }
}
