//! The frame decoder and encoders, without sockets: the examples of RFC
//! 6455 section 5.7, every close-code rule, the limits at their exact
//! boundaries, round trips; `tests/chunking.rs` adds the property test
//! that any chunking of a stream yields the same events, and the memory
//! bound.

use super::*;

mod chunking;
mod props;

/// The mask key of the RFC's examples.
const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Owned events (and the error that ends a stream), to compare runs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<u16>, String),
    Error(DecodeError),
}

fn own(event: Event<'_>) -> Seen {
    match event {
        Event::Text(text) => Seen::Text(text.to_string()),
        Event::Binary(data) => Seen::Binary(data.to_vec()),
        Event::Ping(data) => Seen::Ping(data.to_vec()),
        Event::Pong(data) => Seen::Pong(data.to_vec()),
        Event::Close { code, reason } => Seen::Close(code, reason.to_string()),
    }
}

/// Feeds `chunks` the way the loop does: unconsumed bytes are kept and
/// offered again in front of the next chunk; an error ends the stream.
/// Returns what was seen and the most bytes ever kept waiting.
fn feed(decoder: &mut FrameDecoder, chunks: &[&[u8]]) -> (Vec<Seen>, usize) {
    let mut pending: Vec<u8> = Vec::new();
    let mut seen = Vec::new();
    let mut most_pending = 0;
    for chunk in chunks {
        pending.extend_from_slice(chunk);
        let mut pos = 0;
        loop {
            let (used, outcome) = decoder.decode(pending.get(pos..).unwrap_or_default());
            pos += used;
            match outcome {
                Ok(Some(event)) => seen.push(own(event)),
                Ok(None) => break,
                Err(err) => {
                    seen.push(Seen::Error(err));
                    return (seen, most_pending);
                }
            }
        }
        pending.drain(..pos);
        most_pending = most_pending.max(pending.len());
    }
    (seen, most_pending)
}

/// What a server decoder with a 1 MiB limit makes of `bytes`.
fn server_reads(bytes: &[u8]) -> Vec<Seen> {
    feed(&mut FrameDecoder::new(Role::Server, 1 << 20), &[bytes]).0
}

/// One masked client frame.
fn client(opcode: Opcode, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(&mut out, opcode, fin, payload, Some(KEY));
    out
}

fn text(s: &str) -> Seen {
    Seen::Text(s.to_string())
}

fn protocol_error(seen: &[Seen]) -> bool {
    matches!(seen.last(), Some(Seen::Error(e)) if e.close_code() == CLOSE_PROTOCOL_ERROR)
}

#[test]
fn rfc_single_frame_unmasked_and_masked_hello() {
    let unmasked = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let mut as_client = FrameDecoder::new(Role::Client, 1000);
    assert_eq!(feed(&mut as_client, &[&unmasked]).0, [text("Hello")]);
    let mut out = Vec::new();
    encode_text(&mut out, "Hello");
    assert_eq!(out, unmasked);

    let masked = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    assert_eq!(server_reads(&masked), [text("Hello")]);
    let mut out = Vec::new();
    encode_client(&mut out, Opcode::Text, b"Hello", KEY);
    assert_eq!(out, masked);
}

#[test]
fn rfc_fragmented_text_ping_and_pong() {
    let fragmented = [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
    let mut as_client = FrameDecoder::new(Role::Client, 1000);
    assert_eq!(feed(&mut as_client, &[&fragmented]).0, [text("Hello")]);

    let ping = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let mut as_client = FrameDecoder::new(Role::Client, 1000);
    assert_eq!(
        feed(&mut as_client, &[&ping]).0,
        [Seen::Ping(b"Hello".to_vec())]
    );
    let mut out = Vec::new();
    encode_ping(&mut out, b"Hello");
    assert_eq!(out, ping);

    let masked_pong = [
        0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    assert_eq!(server_reads(&masked_pong), [Seen::Pong(b"Hello".to_vec())]);
}

#[test]
fn fragments_are_joined_into_one_message() {
    let mut stream = client(Opcode::Text, false, b"Hel");
    stream.extend(client(Opcode::Continuation, false, b""));
    stream.extend(client(Opcode::Continuation, true, b"lo"));
    assert_eq!(server_reads(&stream), [text("Hello")]);
}

#[test]
fn rfc_256_and_65536_byte_lengths_use_the_16_and_64_bit_forms() {
    for (len, header) in [
        (256, vec![0x82, 0x7E, 0x01, 0x00]),
        (65536, vec![0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]),
    ] {
        let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let mut out = Vec::new();
        encode_binary(&mut out, &payload);
        assert_eq!(out.get(..header.len()), Some(&header[..]), "len {len}");
        assert_eq!(out.len(), header.len() + len);
        assert_eq!(header_len(len, false), header.len());
        let mut as_client = FrameDecoder::new(Role::Client, 1 << 20);
        assert_eq!(feed(&mut as_client, &[&out]).0, [Seen::Binary(payload)]);
    }
}

#[test]
fn encoders_take_the_shortest_length_form_at_each_boundary() {
    for (len, header) in [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)] {
        let mut out = Vec::new();
        encode_binary(&mut out, &vec![7; len]);
        assert_eq!(out.len(), header + len, "len {len}");
        assert_eq!(header_len(len, true), header + 4);
    }
}

#[test]
fn round_trips_server_frames_to_a_client_and_client_frames_to_a_server() {
    let long = "é".repeat(40_000);
    let mut out = Vec::new();
    encode_text(&mut out, "");
    encode_text(&mut out, &long);
    encode_binary(&mut out, &[0, 255, 1]);
    encode_ping(&mut out, b"");
    encode_pong(&mut out, b"pong");
    encode_close(&mut out, Some(CLOSE_GOING_AWAY), "shutting down");
    let mut as_client = FrameDecoder::new(Role::Client, 1 << 20);
    let expected = [
        text(""),
        text(&long),
        Seen::Binary(vec![0, 255, 1]),
        Seen::Ping(vec![]),
        Seen::Pong(b"pong".to_vec()),
        Seen::Close(Some(1001), "shutting down".to_string()),
    ];
    assert_eq!(feed(&mut as_client, &[&out]).0, expected);

    let mut out = Vec::new();
    for (opcode, payload) in [
        (Opcode::Text, long.as_bytes()),
        (Opcode::Binary, b"\x00\x01"),
    ] {
        encode_client(&mut out, opcode, payload, [1, 2, 3, 4]);
    }
    assert_eq!(server_reads(&out), [text(&long), Seen::Binary(vec![0, 1])]);
}

#[test]
fn frames_must_be_masked_by_clients_and_not_by_servers() {
    let mut unmasked = Vec::new();
    encode_text(&mut unmasked, "hi");
    let seen = server_reads(&unmasked);
    assert!(protocol_error(&seen), "{seen:?}");

    let mut as_client = FrameDecoder::new(Role::Client, 100);
    let seen = feed(&mut as_client, &[&client(Opcode::Text, true, b"hi")]).0;
    assert!(protocol_error(&seen), "{seen:?}");
}

#[test]
fn reserved_bits_and_opcodes_are_protocol_errors() {
    for rsv in [0x40, 0x20, 0x10] {
        let mut frame = client(Opcode::Text, true, b"x");
        if let Some(first) = frame.first_mut() {
            *first |= rsv;
        }
        assert!(protocol_error(&server_reads(&frame)), "rsv {rsv:#x}");
    }
    for opcode in [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        let frame = [0x80 | opcode, 0x80, 1, 2, 3, 4];
        assert!(protocol_error(&server_reads(&frame)), "opcode {opcode:#x}");
    }
}

#[test]
fn control_frames_hold_125_bytes_and_no_more() {
    let at_limit = [b'p'; 125];
    for opcode in [Opcode::Ping, Opcode::Pong] {
        let seen = server_reads(&client(opcode, true, &at_limit));
        assert!(!matches!(seen.first(), Some(Seen::Error(_))), "{seen:?}");
        assert!(protocol_error(&server_reads(&client(
            opcode,
            true,
            &[b'p'; 126]
        ))));
    }
    let mut close = 1000u16.to_be_bytes().to_vec();
    close.extend([b'r'; 123]);
    assert_eq!(
        server_reads(&client(Opcode::Close, true, &close)),
        [Seen::Close(Some(1000), "r".repeat(123))]
    );
    close.push(b'r');
    assert!(protocol_error(&server_reads(&client(
        Opcode::Close,
        true,
        &close
    ))));
}

#[test]
fn a_fragmented_control_frame_is_a_protocol_error() {
    for opcode in [Opcode::Ping, Opcode::Pong, Opcode::Close] {
        assert!(protocol_error(&server_reads(&client(opcode, false, b""))));
    }
}

#[test]
fn continuation_rules_are_enforced() {
    let orphan = client(Opcode::Continuation, true, b"x");
    assert!(protocol_error(&server_reads(&orphan)));

    for second in [Opcode::Text, Opcode::Binary] {
        let mut stream = client(Opcode::Text, false, b"a");
        stream.extend(client(second, true, b"b"));
        assert!(protocol_error(&server_reads(&stream)), "{second:?}");
    }
    // A continuation after a complete message has nothing to continue.
    let mut stream = client(Opcode::Text, true, b"a");
    stream.extend(client(Opcode::Continuation, true, b"b"));
    let seen = server_reads(&stream);
    assert_eq!(seen.first(), Some(&text("a")));
    assert!(protocol_error(&seen));
}

#[test]
fn control_frames_may_come_between_fragments() {
    let mut stream = client(Opcode::Text, false, b"Hel");
    stream.extend(client(Opcode::Ping, true, b"1"));
    stream.extend(client(Opcode::Pong, true, b"2"));
    stream.extend(client(Opcode::Continuation, true, b"lo"));
    assert_eq!(
        server_reads(&stream),
        [
            Seen::Ping(b"1".to_vec()),
            Seen::Pong(b"2".to_vec()),
            text("Hello")
        ]
    );
}

#[test]
fn text_must_be_utf8_and_is_checked_across_fragments() {
    let invalid = server_reads(&client(Opcode::Text, true, b"ok \xff"));
    assert_eq!(invalid, [Seen::Error(DecodeError::InvalidUtf8)]);
    assert_eq!(DecodeError::InvalidUtf8.close_code(), 1007);

    // "é" split between two fragments is fine once whole...
    let mut split = client(Opcode::Text, false, b"caf\xc3");
    split.extend(client(Opcode::Continuation, true, b"\xa9"));
    assert_eq!(server_reads(&split), [text("café")]);

    // ...but a message may not end in the middle of a character.
    let mut cut = client(Opcode::Text, false, b"caf");
    cut.extend(client(Opcode::Continuation, true, b"\xc3"));
    assert_eq!(server_reads(&cut), [Seen::Error(DecodeError::InvalidUtf8)]);

    // Binary is not checked.
    assert_eq!(
        server_reads(&client(Opcode::Binary, true, b"\xff")),
        [Seen::Binary(vec![0xff])]
    );
}

#[test]
fn invalid_text_is_refused_before_the_message_ends() {
    // The first fragment is already bad: no need to wait for the rest.
    let first = client(Opcode::Text, false, b"a\xed\xa0\x80");
    assert_eq!(
        server_reads(&first),
        [Seen::Error(DecodeError::InvalidUtf8)]
    );
}

#[test]
fn a_message_over_max_payload_is_1009_and_exactly_max_is_fine() {
    let max = 300;
    let mut decoder = FrameDecoder::new(Role::Server, max);
    let at_limit = client(Opcode::Binary, true, &vec![1; max]);
    assert_eq!(
        feed(&mut decoder, &[&at_limit]).0,
        [Seen::Binary(vec![1; max])]
    );

    let mut decoder = FrameDecoder::new(Role::Server, max);
    let over = client(Opcode::Binary, true, &vec![1; max + 1]);
    assert_eq!(
        feed(&mut decoder, &[&over]).0,
        [Seen::Error(DecodeError::TooBig)]
    );
    assert_eq!(DecodeError::TooBig.close_code(), 1009);
}

#[test]
fn fragments_that_add_up_past_max_payload_are_refused_at_the_header() {
    let max = 300;
    let mut stream = client(Opcode::Text, false, &[b'a'; 200]);
    stream.extend(client(Opcode::Continuation, true, &[b'a'; 100]));
    let mut decoder = FrameDecoder::new(Role::Server, max);
    assert_eq!(feed(&mut decoder, &[&stream]).0, [text(&"a".repeat(300))]);

    let mut stream = client(Opcode::Text, false, &[b'a'; 200]);
    let second = client(Opcode::Continuation, true, &[b'a'; 101]);
    // Only the second frame's header: its payload never needs to arrive.
    stream.extend(second.get(..header_len(101, true)).unwrap_or_default());
    let mut decoder = FrameDecoder::new(Role::Server, max);
    assert_eq!(
        feed(&mut decoder, &[&stream]).0,
        [Seen::Error(DecodeError::TooBig)]
    );
}

#[test]
fn a_64_bit_length_with_the_top_bit_set_is_refused() {
    let frame = [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4];
    assert!(protocol_error(&server_reads(&frame)));
    // A huge but legal length is simply too big.
    let frame = [
        0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4,
    ];
    assert_eq!(server_reads(&frame), [Seen::Error(DecodeError::TooBig)]);
}

#[test]
fn close_payloads_follow_the_rules() {
    let close = |payload: &[u8]| server_reads(&client(Opcode::Close, true, payload));
    assert_eq!(close(b""), [Seen::Close(None, String::new())]);
    assert!(protocol_error(&close(b"\x03")), "a one-byte payload");
    for code in [
        1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1014, 3000, 4999,
    ] {
        let seen = close(&code.to_be_bytes());
        assert_eq!(seen, [Seen::Close(Some(code), String::new())], "{code}");
    }
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
        assert!(protocol_error(&close(&code.to_be_bytes())), "{code}");
    }
    let mut bad_reason = 1000u16.to_be_bytes().to_vec();
    bad_reason.extend(b"\xc3(");
    assert_eq!(close(&bad_reason), [Seen::Error(DecodeError::InvalidUtf8)]);
}

#[test]
fn after_a_close_nothing_more_is_read_and_after_an_error_it_repeats() {
    let mut stream = client(Opcode::Close, true, b"");
    stream.extend(client(Opcode::Text, true, b"ignored"));
    stream.extend(b"\xff garbage");
    let mut decoder = FrameDecoder::new(Role::Server, 100);
    assert_eq!(
        feed(&mut decoder, &[&stream]).0,
        [Seen::Close(None, String::new())]
    );
    assert!(decoder.is_closed());
    assert_eq!(decoder.decode(b"more"), (4, Ok(None)));

    let mut decoder = FrameDecoder::new(Role::Server, 100);
    let reserved = DecodeError::Protocol("reserved bits set");
    assert_eq!(decoder.decode(b"\xf1\x80"), (2, Err(reserved)));
    let fine = client(Opcode::Text, true, b"fine");
    assert_eq!(decoder.decode(&fine), (fine.len(), Err(reserved)));
}

#[test]
fn encode_close_cuts_the_reason_at_a_character_and_pings_at_125() {
    let mut out = Vec::new();
    encode_close(&mut out, Some(CLOSE_NORMAL), &"é".repeat(100));
    let mut as_client = FrameDecoder::new(Role::Client, 100);
    assert_eq!(
        feed(&mut as_client, &[&out]).0,
        [Seen::Close(Some(1000), "é".repeat(61))]
    );
    let mut out = Vec::new();
    encode_close(&mut out, None, "ignored without a code");
    assert_eq!(out, [0x88, 0x00]);
    let mut out = Vec::new();
    encode_ping(&mut out, &[9; 300]);
    assert_eq!(out.len(), 2 + 125);
}
