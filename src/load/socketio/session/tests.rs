//! A member's session against a scripted server: the bytes the chat's
//! web listener would send, built with the same codecs, in one piece and
//! one byte at a time.

use super::*;
use crate::proto::web::engineio::{encode_open, Heartbeat};
use crate::proto::web::frame::{encode_close, encode_ping, encode_text};
use crate::proto::web::socketio::{websocket_event, ServerEvent as Sent};

/// What the session reported, owned so a test can keep it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    Joined,
    Message(String, usize),
    Refused(String),
    Unexpected,
}

/// A session and what it has said so far.
struct Client {
    session: Session,
    /// Bytes offered and not consumed yet.
    pending: Vec<u8>,
    /// What the session sent, unmasked: one string per frame.
    sent: Vec<String>,
    /// Reads the session's masked frames as a server does.
    server_side: FrameDecoder,
    got: Vec<Got>,
}

impl Client {
    fn new() -> Client {
        Client {
            session: Session::new(Masks::from_seed(7)),
            pending: Vec::new(),
            sent: Vec::new(),
            server_side: FrameDecoder::new(Role::Server, MAX_MESSAGE),
            got: Vec::new(),
        }
    }

    /// The upgrade request's text.
    fn request(&self) -> String {
        let mut out = Vec::new();
        self.session.request("127.0.0.1:7080", &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The `101` a server would send for this session's request.
    fn switching_protocols(&self) -> Vec<u8> {
        let request = self.request();
        let key = request
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap_or_default();
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            handshake::accept_key(key.as_bytes())
        )
        .into_bytes()
    }

    /// Offers `bytes` in chunks of `chunk`, as reads would deliver them.
    fn feed(&mut self, bytes: &[u8], chunk: usize) -> Result<(), Broken> {
        for piece in bytes.chunks(chunk.max(1)) {
            self.pending.extend_from_slice(piece);
            let mut out = Vec::new();
            let got = &mut self.got;
            let result = self.session.read(&self.pending, &mut out, &mut |heard| {
                got.push(match heard {
                    Heard::Joined => Got::Joined,
                    Heard::Message { text, bytes } => Got::Message(text.into(), bytes),
                    Heard::Refused(text) => Got::Refused(text.into()),
                    Heard::Unexpected(_) => Got::Unexpected,
                })
            });
            self.read_sent(&out);
            let used = result?;
            self.pending.drain(..used);
        }
        Ok(())
    }

    /// Decodes what the session sent, as the server would.
    fn read_sent(&mut self, mut out: &[u8]) {
        while !out.is_empty() {
            let (used, event) = self.server_side.decode(out);
            out = &out[used..];
            match event {
                Ok(Some(Event::Text(text))) => self.sent.push(text.to_string()),
                Ok(Some(Event::Pong(p))) => self.sent.push(format!("pong {p:?}")),
                Ok(Some(Event::Close { code, .. })) => self.sent.push(format!("close {code:?}")),
                other => panic!("the client sent {other:?}"),
            }
        }
    }
}

/// Server frames: one text frame per packet.
fn frames(packets: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for packet in packets {
        encode_text(&mut out, &String::from_utf8_lossy(packet));
    }
    out
}

fn open_packet() -> Vec<u8> {
    let mut open = Vec::new();
    encode_open(&mut open, "abc", &[], Heartbeat::default());
    open
}

fn welcome() -> Vec<u8> {
    websocket_event(&Sent::Notice {
        text: "welcome guest-1, you are in #lobby",
    })
}

/// Everything from the `101` to the first delivery, as one byte string.
fn whole_join() -> (Client, Vec<u8>) {
    let client = Client::new();
    let mut bytes = client.switching_protocols();
    bytes.extend(frames(&[&open_packet(), b"40{\"sid\":\"abcs\"}"]));
    bytes.extend(welcome());
    bytes.extend(websocket_event(&Sent::Notice {
        text: "guest-2 joined",
    }));
    bytes.extend(websocket_event(&Sent::Message {
        from: "guest-2",
        text: "load 1 2 3",
    }));
    (client, bytes)
}

#[test]
fn the_request_is_an_upgrade_to_the_websocket_transport() {
    let request = Client::new().request();
    assert!(
        request.starts_with("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"),
        "{request}"
    );
    for field in [
        "Host: 127.0.0.1:7080",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Version: 13",
    ] {
        assert!(request.contains(&format!("\r\n{field}\r\n")), "{request}");
    }
    assert!(request.ends_with("\r\n\r\n"));
}

#[test]
fn a_member_joins_then_hears_messages_in_any_chunking() -> Result<(), Broken> {
    let mut results = Vec::new();
    for chunk in [usize::MAX, 1, 7] {
        // Every client draws the same keys from the same seed.
        let (mut client, bytes) = whole_join();
        client.feed(&bytes, chunk)?;
        assert!(client.session.is_joined());
        assert_eq!(client.sent, ["40"], "the CONNECT to /, nothing else");
        assert!(client.pending.is_empty());
        results.push(client.got);
    }
    let packet = r#"42["message",{"from":"guest-2","text":"load 1 2 3"}]"#;
    let want = vec![Got::Joined, Got::Message("load 1 2 3".into(), packet.len())];
    assert!(results.iter().all(|got| *got == want), "{results:?}");
    Ok(())
}

#[test]
fn pings_of_both_layers_are_answered() -> Result<(), Broken> {
    let (mut client, bytes) = whole_join();
    client.feed(&bytes, bytes.len())?;
    let mut ping = frames(&[b"2"]);
    encode_ping(&mut ping, b"hb");
    client.feed(&ping, 3)?;
    assert_eq!(client.sent, ["40", "3", "pong [104, 98]"]);
    Ok(())
}

#[test]
fn what_the_member_publishes_is_a_masked_message_event() -> Result<(), Broken> {
    let mut client = Client::new();
    let mut out = Vec::new();
    client.session.publish("load 0 5 \"quoted\"", &mut out);
    assert_eq!(out[1] & 0x80, 0x80, "masked");
    client.read_sent(&out);
    assert_eq!(client.sent, [r#"42["message","load 0 5 \"quoted\""]"#]);
    Ok(())
}

#[test]
fn anything_but_the_right_101_is_a_refusal_that_says_why() {
    let cases: [(&[u8], &str); 4] = [
        (b"HTTP/1.1 404 Not Found\r\n\r\n", "got 404 Not Found"),
        (b"* welcome guest-1, you are in #lobby\n", "web address"),
        (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
              Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
            "wrong Sec-WebSocket-Accept",
        ),
        (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
            "Upgrade",
        ),
    ];
    for (response, why) in cases {
        let mut client = Client::new();
        match client.feed(response, response.len()) {
            Err(Broken::Refused(text)) => assert!(text.contains(why), "{text}"),
            other => panic!("{response:?}: {other:?}"),
        }
    }
}

#[test]
fn an_endless_head_is_refused_at_its_bound() {
    let mut client = Client::new();
    let mut head = b"HTTP/1.1 101 Switching Protocols\r\n".to_vec();
    head.resize(MAX_HEAD + 10, b'x');
    assert!(matches!(client.feed(&head, 1000), Err(Broken::Refused(_))));
}

#[test]
fn a_refused_connect_a_close_and_a_huge_message_end_the_session() {
    let mut client = Client::new();
    let mut bytes = client.switching_protocols();
    bytes.extend(frames(&[
        &open_packet(),
        b"44{\"message\":\"Invalid namespace\"}",
    ]));
    assert!(matches!(
        client.feed(&bytes, bytes.len()),
        Err(Broken::Refused(text)) if text.contains("Invalid namespace")
    ));

    let (mut client, bytes) = whole_join();
    client.feed(&bytes, bytes.len()).ok();
    let mut close = Vec::new();
    encode_close(&mut close, Some(1001), "bye");
    assert!(matches!(client.feed(&close, 2), Err(Broken::Ended(_))));
    assert_eq!(
        client.sent.last().map(String::as_str),
        Some("close Some(1001)")
    );

    let (mut client, bytes) = whole_join();
    client.feed(&bytes, bytes.len()).ok();
    let huge = frames(&[&vec![b'4'; MAX_MESSAGE + 1]]);
    assert!(matches!(client.feed(&huge, 4096), Err(Broken::Protocol(_))));
    assert!(client.session.decoder.buffered_bytes() <= MAX_MESSAGE + 128);
}

#[test]
fn events_nobody_asked_for_are_reported_and_errors_are_refusals() -> Result<(), Broken> {
    let mut client = Client::new();
    let mut bytes = client.switching_protocols();
    bytes.extend(frames(&[&open_packet(), b"40{\"sid\":\"abcs\"}"]));
    // A message before the welcome: not this member's to count, and no
    // error either (a server may relay to the room before it welcomes).
    bytes.extend(websocket_event(&Sent::Message {
        from: "x",
        text: "load 0 0 0",
    }));
    bytes.extend(welcome());
    bytes.extend(websocket_event(&Sent::Private {
        from: "x",
        text: "psst",
    }));
    bytes.extend(websocket_event(&Sent::Error {
        text: "line too long",
    }));
    bytes.extend(frames(&[b"431[{\"ok\":true}]"]));
    client.feed(&bytes, bytes.len())?;
    assert_eq!(
        client.got,
        [
            Got::Joined,
            Got::Unexpected,
            Got::Refused("line too long".into()),
            Got::Unexpected
        ]
    );
    Ok(())
}

#[test]
fn a_welcome_before_the_connects_ack_still_joins() -> Result<(), Broken> {
    // python-socketio sends what its connect handler emits first.
    let mut client = Client::new();
    let mut bytes = client.switching_protocols();
    bytes.extend(frames(&[&open_packet()]));
    bytes.extend(welcome());
    bytes.extend(frames(&[b"40{\"sid\":\"abcs\"}"]));
    client.feed(&bytes, bytes.len())?;
    assert_eq!(client.got, [Got::Joined]);
    Ok(())
}
