//! Engine.IO packets, payloads and query strings, with the examples of the
//! protocol's own documentation.

use super::*;

fn encoded(packet: Packet<'_>) -> String {
    let mut out = Vec::new();
    encode_packet(&mut out, &packet);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn every_packet_type_decodes_and_encodes_back() -> Result<(), PacketError> {
    let cases = [
        ("0{\"sid\":\"x\"}", Packet::Open("{\"sid\":\"x\"}")),
        ("1", Packet::Close),
        ("2", Packet::Ping("")),
        ("3", Packet::Pong("")),
        ("4hello", Packet::Message("hello")),
        ("4", Packet::Message("")),
        ("4€", Packet::Message("€")),
        ("5", Packet::Upgrade),
        ("6", Packet::Noop),
    ];
    for (wire, packet) in cases {
        assert_eq!(decode_packet(wire)?, packet, "{wire}");
        assert_eq!(encoded(packet), wire);
    }
    Ok(())
}

#[test]
fn the_upgrade_probe_is_a_ping_and_a_pong_with_probe() -> Result<(), PacketError> {
    // The documentation's upgrade: client `2probe`, server `3probe`, client `5`.
    assert_eq!(decode_packet("2probe")?, Packet::Ping(PROBE));
    assert_eq!(encoded(Packet::Pong(PROBE)), "3probe");
    assert_eq!(decode_packet("5")?, Packet::Upgrade);
    Ok(())
}

#[test]
fn the_documented_payloads_decode() -> Result<(), PacketError> {
    assert_eq!(
        decode_payload(b"4hello\x1e2\x1e4world")?,
        [
            Packet::Message("hello"),
            Packet::Ping(""),
            Packet::Message("world")
        ]
    );
    // The sample session's POST: two Socket.IO events in one body.
    assert_eq!(
        decode_payload(b"42[\"hello\"]\x1e42[\"world\"]")?,
        [
            Packet::Message("2[\"hello\"]"),
            Packet::Message("2[\"world\"]")
        ]
    );
    assert_eq!(decode_payload(b"4\xe2\x82\xac")?, [Packet::Message("€")]);
    Ok(())
}

#[test]
fn binary_packets_are_recognised_and_refused() {
    assert_eq!(decode_packet("bAQIDBA=="), Err(PacketError::Binary));
    assert_eq!(
        decode_payload(b"4hello\x1ebAQIDBA=="),
        Err(PacketError::Binary)
    );
}

#[test]
fn malformed_packets_and_payloads_are_errors() {
    assert_eq!(decode_packet(""), Err(PacketError::Empty));
    assert_eq!(decode_packet("7"), Err(PacketError::UnknownType('7')));
    assert_eq!(decode_packet("x4"), Err(PacketError::UnknownType('x')));
    assert_eq!(decode_packet("é"), Err(PacketError::UnknownType('é')));
    for extra in ["1x", "5probe", "6 "] {
        assert_eq!(
            decode_packet(extra),
            Err(PacketError::UnexpectedData),
            "{extra}"
        );
    }
    assert_eq!(decode_payload(b""), Err(PacketError::Empty));
    assert_eq!(
        decode_payload(b"4a\x1e"),
        Err(PacketError::Empty),
        "trailing separator"
    );
    assert_eq!(decode_payload(b"\x1e4a"), Err(PacketError::Empty));
    assert_eq!(decode_payload(b"4\xff"), Err(PacketError::InvalidUtf8));
}

#[test]
fn payloads_are_joined_by_the_record_separator() -> Result<(), PacketError> {
    let packets = [Packet::Message("2[\"a\"]"), Packet::Ping(""), Packet::Noop];
    let mut body = Vec::new();
    encode_payload(&mut body, &packets);
    assert_eq!(body, b"42[\"a\"]\x1e2\x1e6");
    assert_eq!(decode_payload(&body)?, packets);

    // push_packet builds the same body one packet at a time.
    let mut gathered = Vec::new();
    for packet in &packets {
        let mut one = Vec::new();
        encode_packet(&mut one, packet);
        push_packet(&mut gathered, &one);
    }
    assert_eq!(gathered, body);
    Ok(())
}

#[test]
fn the_open_packet_carries_the_documented_handshake() -> Result<(), PacketError> {
    let mut out = Vec::new();
    encode_open(
        &mut out,
        "lv_VI97HAXpY6yYWAAAC",
        &["websocket"],
        Heartbeat::default(),
    );
    // The handshake of the documentation, byte for byte.
    let documented = r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
    assert_eq!(String::from_utf8_lossy(&out), documented);
    let Packet::Open(json) = decode_packet(documented)? else {
        panic!("not an open packet");
    };
    assert_eq!(
        parse_handshake(json),
        Some(Handshake {
            sid: "lv_VI97HAXpY6yYWAAAC".into(),
            upgrades: vec!["websocket".into()],
            ping_interval_ms: 25_000,
            ping_timeout_ms: 20_000,
            max_payload: 1_000_000,
        })
    );

    let mut out = Vec::new();
    let quick = Heartbeat {
        interval_ms: 200,
        timeout_ms: 300,
    };
    encode_open(&mut out, "s\"id", &[], quick);
    let text = String::from_utf8_lossy(&out).into_owned();
    let upgrades = text.strip_prefix('0').and_then(parse_handshake);
    assert_eq!(
        upgrades.map(|h| (
            h.sid,
            h.upgrades.len(),
            h.ping_interval_ms,
            h.ping_timeout_ms
        )),
        Some(("s\"id".into(), 0, 200, 300))
    );
    Ok(())
}

#[test]
fn a_handshake_missing_a_field_or_not_json_is_none() {
    for json in [
        "",
        "not json",
        "[]",
        r#"{"sid":"a","upgrades":[],"pingInterval":1,"pingTimeout":1}"#,
        r#"{"sid":1,"upgrades":[],"pingInterval":1,"pingTimeout":1,"maxPayload":1}"#,
        r#"{"sid":"a","upgrades":[1],"pingInterval":1,"pingTimeout":1,"maxPayload":1}"#,
        r#"{"sid":"a","upgrades":[],"pingInterval":-1,"pingTimeout":1,"maxPayload":1}"#,
    ] {
        assert_eq!(parse_handshake(json), None, "{json}");
    }
}

#[test]
fn query_strings_of_the_documentation_parse() -> Result<(), RequestError> {
    assert_eq!(
        parse_query("EIO=4&transport=polling&t=N8hyd6w")?,
        Query {
            transport: Transport::Polling,
            sid: None
        }
    );
    assert_eq!(
        parse_query("EIO=4&transport=polling&t=N8hyd7H&sid=lv_VI97HAXpY6yYWAAAC")?,
        Query {
            transport: Transport::Polling,
            sid: Some("lv_VI97HAXpY6yYWAAAC")
        }
    );
    assert_eq!(
        parse_query("transport=websocket&sid=abc&EIO=4")?,
        Query {
            transport: Transport::WebSocket,
            sid: Some("abc")
        }
    );
    // Of a repeated parameter the first counts; unknown ones are ignored.
    assert_eq!(
        parse_query("EIO=4&transport=websocket&transport=polling&x&=&&b64=1")?.transport,
        Transport::WebSocket
    );
    Ok(())
}

#[test]
fn bad_query_strings_get_the_official_error_codes() {
    for (query, err) in [
        ("", RequestError::UnsupportedVersion),
        ("transport=polling", RequestError::UnsupportedVersion),
        ("EIO=3&transport=polling", RequestError::UnsupportedVersion),
        ("EIO=44&transport=polling", RequestError::UnsupportedVersion),
        ("EIO=4", RequestError::UnknownTransport),
        (
            "EIO=4&transport=flashsocket",
            RequestError::UnknownTransport,
        ),
        ("EIO=4&transport=", RequestError::UnknownTransport),
        ("EIO=4&Transport=polling", RequestError::UnknownTransport),
    ] {
        assert_eq!(parse_query(query), Err(err), "{query:?}");
    }
    let mut body = Vec::new();
    RequestError::UnknownTransport.write_body(&mut body);
    assert_eq!(body, br#"{"code":0,"message":"Transport unknown"}"#);
    let mut body = Vec::new();
    RequestError::UnsupportedVersion.write_body(&mut body);
    assert_eq!(
        body,
        br#"{"code":5,"message":"Unsupported protocol version"}"#
    );
    assert_eq!(RequestError::UnknownSession.code(), 1);
    assert_eq!(RequestError::BadRequest.message(), "Bad request");
}
