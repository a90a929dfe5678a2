//! The two wire formats the fan-out driver speaks, reduced to what it
//! needs: join or subscribe, publish, and tell a delivery from a notice.
//!
//! - `chat`: `reactor chat`'s lines. Connecting is joining `#lobby`; the
//!   server says `* welcome NAME, you are in #lobby`; a line sent is
//!   delivered to every other member as `NAME: TEXT`; `* ...` lines are
//!   notices (someone joined), `! ...` lines errors.
//! - `redis`: RESP2. `SUBSCRIBE chan` is confirmed with
//!   `*3 $9 subscribe $N chan :1`; `PUBLISH chan payload` is answered with
//!   the number of subscribers reached (`:N`); a delivery is
//!   `*3 $7 message $N chan $M payload`.

use super::resp::{self, Value};

/// The channel every Redis subscriber listens on.
pub const CHANNEL: &str = "fanout";

/// Which server the driver talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Chat,
    Redis,
}

impl std::str::FromStr for Proto {
    type Err = String;

    fn from_str(text: &str) -> Result<Proto, String> {
        match text {
            "chat" => Ok(Proto::Chat),
            "redis" => Ok(Proto::Redis),
            other => Err(format!("--proto chat or redis, not {other:?}")),
        }
    }
}

/// One complete message from the server, as the driver sees it.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// Joined (chat welcome) or subscribed (Redis confirmation).
    Ready,
    /// A published payload, delivered.
    Delivery(&'a [u8]),
    /// Redis' answer to a PUBLISH: how many subscribers it reached.
    Reached(i64),
    /// A notice that concerns nobody here (chat: someone joined or left).
    Notice,
    /// The server refused something (chat `! ...`, RESP `-ERR ...`), or
    /// sent what neither protocol allows.
    Refused(String),
}

/// What a subscriber sends once connected (chat: nothing, connecting is
/// joining).
pub fn subscribe(proto: Proto) -> Vec<u8> {
    match proto {
        Proto::Chat => Vec::new(),
        Proto::Redis => resp::command(&[b"SUBSCRIBE", CHANNEL.as_bytes()]),
    }
}

/// Appends one publication of `payload` to `out`.
pub fn publish(proto: Proto, payload: &[u8], out: &mut Vec<u8>) {
    match proto {
        Proto::Chat => {
            out.extend_from_slice(payload);
            out.push(b'\n');
        }
        Proto::Redis => out.extend(resp::command(&[b"PUBLISH", CHANNEL.as_bytes(), payload])),
    }
}

/// The first complete frame in `input` and its length, `Ok(None)` if more
/// bytes are needed, `Err` if the stream cannot be read any further.
pub fn next_frame(proto: Proto, input: &[u8]) -> Result<Option<(Frame<'_>, usize)>, String> {
    match proto {
        Proto::Chat => Ok(chat_frame(input)),
        Proto::Redis => match resp::parse(input)? {
            None => Ok(None),
            Some((value, used)) => Ok(Some((redis_frame(value), used))),
        },
    }
}

fn chat_frame(input: &[u8]) -> Option<(Frame<'_>, usize)> {
    let end = input.iter().position(|&b| b == b'\n')?;
    let line = &input[..end];
    let frame = if line.starts_with(b"* welcome ") {
        Frame::Ready
    } else if line.starts_with(b"* ") {
        Frame::Notice
    } else if line.starts_with(b"! ") {
        Frame::Refused(String::from_utf8_lossy(line).into_owned())
    } else {
        match line.windows(2).position(|w| w == b": ") {
            Some(colon) => Frame::Delivery(&line[colon + 2..]),
            None => Frame::Refused(format!(
                "not a chat line: {}",
                String::from_utf8_lossy(line)
            )),
        }
    };
    Some((frame, end + 1))
}

fn redis_frame(value: Value<'_>) -> Frame<'_> {
    match value {
        Value::Int(n) => Frame::Reached(n),
        Value::Error(text) => Frame::Refused(String::from_utf8_lossy(text).into_owned()),
        Value::Array(items) => match items.as_slice() {
            [Value::Bulk(kind), Value::Bulk(_), Value::Int(_)] if *kind == b"subscribe" => {
                Frame::Ready
            }
            [Value::Bulk(kind), Value::Bulk(_), Value::Bulk(payload)] if *kind == b"message" => {
                Frame::Delivery(payload)
            }
            _ => Frame::Refused(format!("unexpected reply {items:?}")),
        },
        other => Frame::Refused(format!("unexpected reply {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_lines() -> Result<(), String> {
        let input =
            b"* welcome guest-1, you are in #lobby\n* guest-2 joined\nguest-2: 0 1 2 x\n! no\npart";
        let mut at = 0;
        let mut frames = Vec::new();
        while let Some((frame, used)) = next_frame(Proto::Chat, &input[at..])? {
            frames.push(frame);
            at += used;
        }
        assert_eq!(
            frames,
            [
                Frame::Ready,
                Frame::Notice,
                Frame::Delivery(b"0 1 2 x"),
                Frame::Refused("! no".into())
            ]
        );
        assert_eq!(&input[at..], b"part");
        Ok(())
    }

    #[test]
    fn redis_replies() -> Result<(), String> {
        let confirm = b"*3\r\n$9\r\nsubscribe\r\n$6\r\nfanout\r\n:1\r\n";
        assert_eq!(
            next_frame(Proto::Redis, confirm)?,
            Some((Frame::Ready, confirm.len()))
        );
        let message = b"*3\r\n$7\r\nmessage\r\n$6\r\nfanout\r\n$3\r\nabc\r\n";
        assert_eq!(
            next_frame(Proto::Redis, message)?,
            Some((Frame::Delivery(b"abc"), message.len()))
        );
        assert_eq!(
            next_frame(Proto::Redis, b":1000\r\n")?,
            Some((Frame::Reached(1000), 7))
        );
        assert_eq!(next_frame(Proto::Redis, &message[..20])?, None);
        assert!(matches!(
            next_frame(Proto::Redis, b"-ERR wrong\r\n")?,
            Some((Frame::Refused(_), _))
        ));
        Ok(())
    }

    #[test]
    fn publications() {
        let mut out = Vec::new();
        publish(Proto::Chat, b"p", &mut out);
        publish(Proto::Redis, b"p", &mut out);
        assert_eq!(
            out,
            b"p\n*3\r\n$7\r\nPUBLISH\r\n$6\r\nfanout\r\n$1\r\np\r\n"
        );
    }
}
