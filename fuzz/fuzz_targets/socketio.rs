//! Socket.IO: any text as a client's packet (what follows the `4` of an
//! Engine.IO message), and any strings in the events the server sends.
//!
//! Checks: nothing panics; what the server would write back for a packet
//! (the ack, the event, the refused connect) reads back as what was meant;
//! a server event never carries the polling separator `0x1E` (it would
//! split the body) and reads back as itself, as polling text and inside
//! its WebSocket frame.

#![no_main]

use libfuzzer_sys::fuzz_target;
use reactor::proto::web::engineio::SEPARATOR;
use reactor::proto::web::frame::{Event, FrameDecoder, Role};
use reactor::proto::web::socketio::{
    decode, encode_ack, encode_connect_error, encode_event, encode_server_event, websocket_event,
    Packet, ServerEvent, INVALID_NAMESPACE, MAIN_NAMESPACE,
};
use serde_json::{json, Value};

/// Reads back what an encoder wrote: the Socket.IO packet after the `4`.
fn read_back(encoded: &[u8]) -> Packet<'_> {
    assert!(!encoded.contains(&SEPARATOR), "0x1E in {encoded:?}");
    let text = std::str::from_utf8(encoded).unwrap_or_else(|e| panic!("{e}"));
    let packet = text.strip_prefix('4').unwrap_or_else(|| panic!("{text}"));
    decode(packet).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// The server's answers to a client's packet read back as meant.
fn answers_read_back(packet: &Packet<'_>) {
    let mut out = Vec::new();
    match packet {
        Packet::Connect { namespace, .. } if *namespace != MAIN_NAMESPACE => {
            encode_connect_error(&mut out, namespace, INVALID_NAMESPACE);
            let expected = Packet::ConnectError {
                namespace,
                data: json!({ "message": INVALID_NAMESPACE }),
            };
            assert_eq!(read_back(&out), expected);
        }
        Packet::Event {
            ack: Some(id),
            args,
            ..
        } => {
            let data = args.first().cloned().unwrap_or(Value::Null);
            encode_ack(&mut out, *id, &data);
            let expected = Packet::Ack {
                namespace: MAIN_NAMESPACE,
                id: *id,
                args: vec![data],
            };
            assert_eq!(read_back(&out), expected);
        }
        Packet::Event {
            name,
            args,
            ack: None,
            ..
        } if args.len() == 1 => {
            encode_event(&mut out, name, &args[0]);
            let expected = Packet::Event {
                namespace: MAIN_NAMESPACE,
                ack: None,
                name: name.clone(),
                args: args.clone(),
            };
            assert_eq!(read_back(&out), expected);
        }
        _ => {}
    }
}

/// A server event reads back as itself, in polling text and in its frame.
fn server_event_reads_back(event: &ServerEvent<'_>) {
    let mut out = Vec::new();
    encode_server_event(&mut out, event);
    let data = match *event {
        ServerEvent::Message { from, text } | ServerEvent::Private { from, text } => {
            json!({ "from": from, "text": text })
        }
        ServerEvent::Notice { text } | ServerEvent::Error { text } => json!({ "text": text }),
    };
    let expected = Packet::Event {
        namespace: MAIN_NAMESPACE,
        ack: None,
        name: event.name().to_string(),
        args: vec![data],
    };
    assert_eq!(read_back(&out), expected);

    let frame = websocket_event(event);
    let mut decoder = FrameDecoder::new(Role::Client, frame.len());
    let (used, outcome) = decoder.decode(&frame);
    assert_eq!(used, frame.len());
    assert_eq!(
        outcome,
        Ok(Some(Event::Text(std::str::from_utf8(&out).unwrap_or(""))))
    );
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(packet) = decode(&text) {
        answers_read_back(&packet);
    }
    // Two strings from the input, for the events' fields.
    let (from, said) = text.split_once('\u{1}').unwrap_or(("", &text));
    let events = [
        ServerEvent::Message { from, text: said },
        ServerEvent::Private { from, text: said },
        ServerEvent::Notice { text: &text },
        ServerEvent::Error { text: said },
    ];
    server_event_reads_back(&events[data.first().map_or(0, |b| usize::from(b % 4))]);
});
