//! Property tests (proptest): any stream of client frames, or any bytes at
//! all, cut into reads anywhere, decodes to the events of one read; and
//! `max_payload` holds at exactly its boundary, however the message is
//! fragmented and cut. proptest shrinks a failure to a smallest input and
//! keeps it in `proptest-regressions/`, so it is tried first ever after.

use proptest::prelude::*;

use super::*;

/// Cases per property: enough to cover the shapes, few enough that
/// `cargo test` stays fast.
const CASES: u32 = 200;

/// One message as a client sends it: its kind, its payload, where it is
/// cut into fragments, and whether a ping comes between fragments.
#[derive(Debug, Clone)]
struct Message {
    binary: bool,
    payload: Vec<u8>,
    cuts: Vec<usize>,
    ping_between: bool,
    key: [u8; 4],
}

fn message() -> impl Strategy<Value = Message> {
    let payload = prop_oneof![
        // Text (valid UTF-8, with multi-byte characters to split).
        4 => "[a-zé中]{0,200}".prop_map(String::into_bytes),
        // Any bytes: binary, or text that may be invalid.
        1 => prop::collection::vec(any::<u8>(), 0..200),
    ];
    (
        any::<bool>(),
        payload,
        prop::collection::vec(0usize..200, 0..4),
        any::<bool>(),
        any::<[u8; 4]>(),
    )
        .prop_map(|(binary, payload, cuts, ping_between, key)| Message {
            binary,
            payload,
            cuts,
            ping_between,
            key,
        })
}

/// Appends `message` as masked client frames, cut into fragments at its
/// cut points (in order, each within the payload).
fn encode(stream: &mut Vec<u8>, message: &Message) {
    let mut opcode = if message.binary {
        Opcode::Binary
    } else {
        Opcode::Text
    };
    let mut rest = &message.payload[..];
    for &cut in &message.cuts {
        let (piece, after) = rest.split_at(cut.min(rest.len()));
        encode_frame(stream, opcode, false, piece, Some(message.key));
        if message.ping_between {
            encode_client(stream, Opcode::Ping, b"between", message.key);
        }
        opcode = Opcode::Continuation;
        rest = after;
    }
    encode_frame(stream, opcode, true, rest, Some(message.key));
}

/// `stream` cut after each size in `sizes`; the rest is the last read.
fn cut<'a>(stream: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut reads = Vec::new();
    let mut rest = stream;
    for &size in sizes {
        if rest.is_empty() {
            break;
        }
        let (read, after) = rest.split_at(size.min(rest.len()));
        reads.push(read);
        rest = after;
    }
    if !rest.is_empty() {
        reads.push(rest);
    }
    reads
}

/// What a server decoder with this limit makes of `reads`.
fn events(max_payload: usize, reads: &[&[u8]]) -> (Vec<Seen>, usize) {
    feed(&mut FrameDecoder::new(Role::Server, max_payload), reads)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn any_cuts_of_client_frames_give_the_events_of_one_read(
        messages in prop::collection::vec(message(), 0..6),
        tail in prop::collection::vec(any::<u8>(), 0..20),
        max_payload in 0usize..300,
        sizes in prop::collection::vec(1usize..80, 0..80),
    ) {
        let mut stream = Vec::new();
        for message in &messages {
            encode(&mut stream, message);
        }
        stream.extend_from_slice(&tail);
        let (whole, _) = events(max_payload, &[&stream]);
        let (split, most_pending) = events(max_payload, &cut(&stream, &sizes));
        prop_assert_eq!(split, whole);
        prop_assert!(most_pending < MAX_HEADER, "kept {}", most_pending);
    }

    #[test]
    fn any_cuts_of_any_bytes_give_the_events_of_one_read(
        stream in prop::collection::vec(any::<u8>(), 0..400),
        client_role in any::<bool>(),
        max_payload in 0usize..200,
        sizes in prop::collection::vec(1usize..30, 0..60),
    ) {
        let role = if client_role { Role::Client } else { Role::Server };
        let (whole, _) = feed(&mut FrameDecoder::new(role, max_payload), &[&stream]);
        let reads = cut(&stream, &sizes);
        let (split, most_pending) = feed(&mut FrameDecoder::new(role, max_payload), &reads);
        prop_assert_eq!(split, whole);
        prop_assert!(most_pending < MAX_HEADER, "kept {}", most_pending);
    }

    #[test]
    fn a_message_of_max_payload_passes_and_one_byte_more_is_1009(
        max_payload in 0usize..2000,
        cuts in prop::collection::vec(0usize..2000, 0..4),
        sizes in prop::collection::vec(1usize..300, 0..40),
        binary in any::<bool>(),
    ) {
        let exact = Message {
            binary,
            payload: vec![b'm'; max_payload],
            cuts: cuts.clone(),
            ping_between: true,
            key: KEY,
        };
        let over = Message {
            payload: vec![b'o'; max_payload + 1],
            ..exact.clone()
        };
        let mut stream = Vec::new();
        encode(&mut stream, &exact);
        encode(&mut stream, &over);
        let (seen, _) = events(max_payload, &cut(&stream, &sizes));
        let Some((Seen::Error(err), before)) = seen.split_last() else {
            return Err(TestCaseError::fail(format!("no error: {seen:?}")));
        };
        prop_assert_eq!(err.close_code(), CLOSE_TOO_BIG);
        let message = if binary {
            Seen::Binary(exact.payload.clone())
        } else {
            Seen::Text("m".repeat(max_payload))
        };
        // The exact message (after its pings), then the pings the over-long
        // one got out before the fragment that crossed the limit.
        prop_assert_eq!(before.iter().filter(|s| **s == message).count(), 1);
        prop_assert!(before.iter().all(|s| *s == message || *s == Seen::Ping(b"between".to_vec())));
    }
}
