//! Socket.IO packets: the examples of the protocol's own documentation,
//! malformed packets of every kind, the chat's events, and one event
//! followed through every layer (WebSocket frame, Engine.IO, Socket.IO).

use serde_json::json;

use super::*;
use crate::proto::web::engineio;
use crate::proto::web::frame::{Event as FrameEvent, FrameDecoder, Role};

fn as_text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[test]
fn the_documented_connect_packets_decode() -> Result<(), PacketError> {
    assert_eq!(
        decode("0")?,
        Packet::Connect {
            namespace: "/",
            auth: None
        }
    );
    assert_eq!(
        decode("0{\"token\":\"123\"}")?,
        Packet::Connect {
            namespace: "/",
            auth: Some(json!({"token": "123"}))
        }
    );
    assert_eq!(
        decode("0/admin,{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}")?,
        Packet::Connect {
            namespace: "/admin",
            auth: Some(json!({"sid": "oSO0OpakMV_3jnilAAAA"}))
        }
    );
    assert_eq!(
        decode("0/admin,")?,
        Packet::Connect {
            namespace: "/admin",
            auth: None
        }
    );
    assert_eq!(
        decode("4{\"message\":\"Not authorized\"}")?,
        Packet::ConnectError {
            namespace: "/",
            data: json!({"message": "Not authorized"})
        }
    );
    Ok(())
}

#[test]
fn the_documented_events_acks_and_disconnects_decode() -> Result<(), PacketError> {
    assert_eq!(
        decode("2[\"foo\"]")?,
        Packet::Event {
            namespace: "/",
            ack: None,
            name: "foo".into(),
            args: vec![]
        }
    );
    assert_eq!(
        decode("2/admin,[\"bar\"]")?,
        Packet::Event {
            namespace: "/admin",
            ack: None,
            name: "bar".into(),
            args: vec![]
        }
    );
    assert_eq!(
        decode("212[\"foo\"]")?,
        Packet::Event {
            namespace: "/",
            ack: Some(12),
            name: "foo".into(),
            args: vec![]
        }
    );
    assert_eq!(
        decode("2/admin,456[\"project:delete\",123]")?,
        Packet::Event {
            namespace: "/admin",
            ack: Some(456),
            name: "project:delete".into(),
            args: vec![json!(123)],
        }
    );
    assert_eq!(
        decode("3/admin,13[\"bar\"]")?,
        Packet::Ack {
            namespace: "/admin",
            id: 13,
            args: vec![json!("bar")]
        }
    );
    assert_eq!(
        decode("3/admin,456[]")?,
        Packet::Ack {
            namespace: "/admin",
            id: 456,
            args: vec![]
        }
    );
    assert_eq!(decode("1")?, Packet::Disconnect { namespace: "/" });
    assert_eq!(
        decode("1/admin,")?,
        Packet::Disconnect {
            namespace: "/admin"
        }
    );
    assert_eq!(
        decode("1/admin")?,
        Packet::Disconnect {
            namespace: "/admin"
        }
    );
    Ok(())
}

#[test]
fn binary_events_and_acks_are_recognised_and_refused() {
    for packet in [
        "51-[\"baz\",{\"_placeholder\":true,\"num\":0}]",
        "52-/admin,[\"baz\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]",
        "61-15[\"bar\",{\"_placeholder\":true,\"num\":0}]",
        "61-/admin,1[{\"_placeholder\":true,\"num\":0}]",
    ] {
        assert_eq!(decode(packet), Err(PacketError::Binary), "{packet}");
    }
}

#[test]
fn malformed_packets_are_errors_never_panics() {
    let deep = format!("2{}", "[".repeat(10_000));
    let cases: [(&str, PacketError); 21] = [
        ("", PacketError::Empty),
        ("7", PacketError::UnknownType('7')),
        ("x[\"a\"]", PacketError::UnknownType('x')),
        ("中", PacketError::UnknownType('中')),
        (
            "2",
            PacketError::BadPayload("EVENT takes a non-empty array"),
        ),
        (
            "2[]",
            PacketError::BadPayload("EVENT needs a string name first"),
        ),
        (
            "2[1,\"a\"]",
            PacketError::BadPayload("EVENT needs a string name first"),
        ),
        (
            "2{\"a\":1}",
            PacketError::BadPayload("EVENT takes a non-empty array"),
        ),
        ("2[\"a\"", PacketError::BadJson),
        ("2[\"a\"]x", PacketError::BadJson),
        (
            "2null",
            PacketError::BadPayload("EVENT takes a non-empty array"),
        ),
        (
            "2/admin[\"a\"]",
            PacketError::BadPayload("EVENT takes a non-empty array"),
        ),
        ("2/a\u{1e}b,[\"a\"]", PacketError::BadNamespace),
        ("299999999999999999999999[\"a\"]", PacketError::BadAckId),
        (
            "3[\"a\"]",
            PacketError::BadPayload("ACK takes an id and an array"),
        ),
        (
            "31{}",
            PacketError::BadPayload("ACK takes an id and an array"),
        ),
        (
            "0[1]",
            PacketError::BadPayload("CONNECT takes an object or nothing"),
        ),
        (
            "01{}",
            PacketError::BadPayload("CONNECT takes an object or nothing"),
        ),
        ("1{}", PacketError::BadPayload("DISCONNECT takes nothing")),
        (
            "4",
            PacketError::BadPayload("CONNECT_ERROR takes an object"),
        ),
        (
            "4[1]",
            PacketError::BadPayload("CONNECT_ERROR takes an object"),
        ),
    ];
    for (packet, err) in cases {
        assert_eq!(decode(packet), Err(err), "{packet:?}");
    }
    // serde_json refuses nesting past 128 levels instead of overflowing the stack.
    assert_eq!(decode(&deep), Err(PacketError::BadJson));
    let deep_but_closed = format!("2[\"a\",{}{}]", "[".repeat(2000), "]".repeat(2000));
    assert_eq!(decode(&deep_but_closed), Err(PacketError::BadJson));
}

#[test]
fn the_chat_events_encode_as_the_documentation_shows() {
    let cases = [
        (
            ServerEvent::Message {
                from: "guest-3",
                text: "hi",
            },
            r#"42["message",{"from":"guest-3","text":"hi"}]"#,
        ),
        (
            ServerEvent::Private {
                from: "bob",
                text: "psst",
            },
            r#"42["private",{"from":"bob","text":"psst"}]"#,
        ),
        (
            ServerEvent::Notice {
                text: "welcome guest-3, you are in #lobby",
            },
            r#"42["notice",{"text":"welcome guest-3, you are in #lobby"}]"#,
        ),
        (
            ServerEvent::Error {
                text: "invalid name",
            },
            r#"42["error",{"text":"invalid name"}]"#,
        ),
    ];
    for (event, wire) in cases {
        let mut out = Vec::new();
        encode_server_event(&mut out, &event);
        assert_eq!(as_text(&out), wire);
    }
}

#[test]
fn strings_are_escaped_so_no_text_can_break_the_packet() -> Result<(), PacketError> {
    let nasty = "a\"b\\c\nd\u{1e}e\u{0}</script>中\u{202e}";
    let mut out = Vec::new();
    encode_server_event(
        &mut out,
        &ServerEvent::Message {
            from: "x\"y",
            text: nasty,
        },
    );
    assert!(
        !out.contains(&engineio::SEPARATOR),
        "a raw 0x1E would split a polling body"
    );
    let text = as_text(&out);
    let socketio = text.strip_prefix('4').unwrap_or_default();
    let Packet::Event { name, args, .. } = decode(socketio)? else {
        panic!("not an event: {text}");
    };
    assert_eq!(name, "message");
    assert_eq!(args, [json!({"from": "x\"y", "text": nasty})]);
    Ok(())
}

#[test]
fn acks_connects_and_refusals_encode() {
    let mut out = Vec::new();
    encode_ack(&mut out, 12, &json!({"ok": true}));
    assert_eq!(as_text(&out), r#"4312[{"ok":true}]"#);

    let mut out = Vec::new();
    encode_connect_ok(&mut out, "wZX3oN0bSVIhsaknAAAI");
    assert_eq!(as_text(&out), r#"40{"sid":"wZX3oN0bSVIhsaknAAAI"}"#);

    let mut out = Vec::new();
    encode_connect_error(&mut out, "/admin", INVALID_NAMESPACE);
    assert_eq!(as_text(&out), r#"44/admin,{"message":"Invalid namespace"}"#);
    let mut out = Vec::new();
    encode_connect_error(&mut out, MAIN_NAMESPACE, "Not authorized");
    assert_eq!(as_text(&out), r#"44{"message":"Not authorized"}"#);

    let mut out = Vec::new();
    encode_event(&mut out, "hey", &json!("Jude"));
    assert_eq!(as_text(&out), r#"42["hey","Jude"]"#);

    let mut out = Vec::new();
    encode_disconnect(&mut out);
    assert_eq!(out, b"41");
}

#[test]
fn a_server_packet_decodes_back_to_what_was_encoded() -> Result<(), PacketError> {
    let mut out = Vec::new();
    encode_ack(
        &mut out,
        7,
        &json!({"room": "lobby", "members": ["a", "b"]}),
    );
    let text = as_text(&out);
    assert_eq!(
        decode(text.strip_prefix('4').unwrap_or_default())?,
        Packet::Ack {
            namespace: "/",
            id: 7,
            args: vec![json!({"room": "lobby", "members": ["a", "b"]})]
        }
    );
    Ok(())
}

#[test]
fn a_websocket_event_is_one_text_frame_through_every_layer() -> Result<(), PacketError> {
    let event = ServerEvent::Message {
        from: "alice",
        text: "héllo",
    };
    let framed = websocket_event(&event);
    let mut decoder = FrameDecoder::new(Role::Client, 1 << 20);
    let (used, outcome) = decoder.decode(&framed);
    assert_eq!(used, framed.len(), "exactly one frame");
    let Ok(Some(FrameEvent::Text(text))) = outcome else {
        panic!("not one text frame: {outcome:?}");
    };
    let engineio::Packet::Message(inner) =
        engineio::decode_packet(text).map_err(|_| PacketError::Empty)?
    else {
        panic!("not an Engine.IO message: {text}");
    };
    assert_eq!(
        decode(inner)?,
        Packet::Event {
            namespace: "/",
            ack: None,
            name: "message".into(),
            args: vec![json!({"from": "alice", "text": "héllo"})],
        }
    );
    Ok(())
}
