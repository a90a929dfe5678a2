//! The WebSocket `FrameDecoder`: any bytes, cut into reads anywhere, read
//! as a server reads a client (masked frames) or a client a server.
//!
//! Checks: nothing panics; the events (and the error that ends the
//! stream) are the same whatever the cuts; no message is over
//! `max_payload` and no control payload over 125 bytes; the decoder's own
//! memory stays within `max_payload + 128` and the loop never keeps more
//! than an unfinished header (13 bytes) between reads.

#![no_main]

use libfuzzer_sys::fuzz_target;
use reactor::proto::web::frame::{
    DecodeError, Event, FrameDecoder, Role, MAX_CONTROL_PAYLOAD, MAX_HEADER,
};
use reactor_fuzz::{deliver, Input};

/// An event that outlives the decoder's buffers, or the error that ended
/// the stream.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<u16>, String),
    Error(DecodeError),
}

/// Decodes `reads` with a fresh decoder, as the loop would feed it.
fn decode(role: Role, max_payload: usize, reads: &[&[u8]]) -> Vec<Seen> {
    let mut decoder = FrameDecoder::new(role, max_payload);
    let mut seen = Vec::new();
    let delivered = deliver(reads, |input| {
        let mut used = 0;
        loop {
            if matches!(seen.last(), Some(Seen::Error(_))) {
                // The loop closes the connection: nothing more is read.
                return input.len();
            }
            let rest = &input[used..];
            let (n, outcome) = decoder.decode(rest);
            assert!(n <= rest.len(), "consumed {n} of {}", rest.len());
            used += n;
            match outcome {
                Ok(Some(event)) => seen.push(own(event, max_payload)),
                Ok(None) => break,
                Err(err) => seen.push(Seen::Error(err)),
            }
            assert!(
                decoder.buffered_bytes() <= max_payload + 128,
                "holds {} bytes for max_payload {max_payload}",
                decoder.buffered_bytes()
            );
        }
        used
    });
    assert!(
        delivered.most_pending < MAX_HEADER,
        "kept {} bytes",
        delivered.most_pending
    );
    seen
}

/// Copies an event out, checking its size.
fn own(event: Event<'_>, max_payload: usize) -> Seen {
    let control = |payload: &[u8]| {
        assert!(payload.len() <= MAX_CONTROL_PAYLOAD);
        payload.to_vec()
    };
    match event {
        Event::Text(text) => {
            assert!(text.len() <= max_payload);
            Seen::Text(text.to_string())
        }
        Event::Binary(data) => {
            assert!(data.len() <= max_payload);
            Seen::Binary(data.to_vec())
        }
        Event::Ping(data) => Seen::Ping(control(data)),
        Event::Pong(data) => Seen::Pong(control(data)),
        Event::Close { code, reason } => {
            assert!(reason.len() + 2 <= MAX_CONTROL_PAYLOAD);
            Seen::Close(code, reason.to_string())
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let input = Input::parse(data);
    let role = match input.config[0] & 1 {
        0 => Role::Server,
        _ => Role::Client,
    };
    // Mostly small limits, so the fuzzer meets them; now and then one
    // over 65535, the 16-bit length's largest.
    let max_payload = match input.config[0] >> 1 {
        127 => 70_000,
        n => usize::from(n) * 3,
    };
    let whole = decode(role, max_payload, &[input.stream]);
    let split = decode(role, max_payload, &input.reads());
    assert_eq!(split, whole, "the cuts changed the events");
});
