//! The decoder fed in every kind of chunking, as the loop feeds it: the
//! same events whatever the cuts, and memory bounded whatever the peer.

use super::*;

#[test]
fn memory_stays_within_max_payload_and_is_given_back() {
    let max = 100_000;
    let mut decoder = FrameDecoder::new(Role::Server, max);
    let big = client(Opcode::Binary, true, &vec![5; max]);
    let chunks: Vec<&[u8]> = big.chunks(1000).collect();
    let mut pending = Vec::new();
    for chunk in chunks {
        pending.extend_from_slice(chunk);
        let (used, outcome) = decoder.decode(&pending);
        assert!(outcome.is_ok());
        pending.drain(..used);
        assert!(
            decoder.buffered_bytes() <= max + 128,
            "{}",
            decoder.buffered_bytes()
        );
    }
    // The next call (here with nothing new) gives the big buffer back.
    assert_eq!(decoder.decode(b""), (0, Ok(None)));
    assert!(decoder.buffered_bytes() <= 1024 + 128);
}

/// xorshift: deterministic pseudo-random numbers for the property tests.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// A client stream of several messages, each cut into 1-3 fragments at
/// any byte (so characters are split between fragments), with pings and
/// pongs between fragments; now and then a message over 125 or 65535
/// bytes; perhaps a close or a fault, then a few bytes more (read only if
/// nothing ended the stream before them).
fn mixed_stream(rng: &mut Rng) -> Vec<u8> {
    let mut stream = Vec::new();
    for _ in 0..1 + rng.below(12) {
        let len = match rng.below(20) {
            0 => 65_536 + rng.below(100),
            1..=4 => 126 + rng.below(300),
            _ => rng.below(126),
        };
        let binary = rng.below(4) == 0;
        let message: Vec<u8> = if binary {
            (0..len).map(|_| rng.below(256) as u8).collect()
        } else {
            "aé中"
                .chars()
                .cycle()
                .take(len)
                .collect::<String>()
                .into_bytes()
        };
        let mut rest = &message[..];
        let mut opcode = if binary { Opcode::Binary } else { Opcode::Text };
        loop {
            let take = if rng.below(3) == 0 {
                rest.len()
            } else {
                rng.below(rest.len() + 1)
            };
            let (piece, after) = rest.split_at(take);
            let key = [rng.below(256) as u8, 1, 2, rng.below(256) as u8];
            encode_frame(&mut stream, opcode, after.is_empty(), piece, Some(key));
            if after.is_empty() {
                break;
            }
            if rng.below(2) == 0 {
                let control = [Opcode::Ping, Opcode::Pong][rng.below(2)];
                encode_client(&mut stream, control, &vec![b'c'; rng.below(126)], key);
            }
            opcode = Opcode::Continuation;
            rest = after;
        }
    }
    match rng.below(4) {
        0 => encode_client(
            &mut stream,
            Opcode::Close,
            &[3, 232, b'o', b'k'],
            [9, 9, 9, 9],
        ),
        1 => encode_client(
            &mut stream,
            Opcode::Text,
            b"bad \xc3\x28 text",
            [4, 3, 2, 1],
        ),
        2 => stream.extend([0x81, 0x01, b'!']), // unmasked
        _ => {}
    }
    stream.extend(b"\x81\x85 after the end");
    stream
}

#[test]
fn any_split_into_chunks_yields_the_same_events() {
    for seed in 1..120u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let stream = mixed_stream(&mut rng);
        let (whole, _) = feed(&mut FrameDecoder::new(Role::Server, 1 << 20), &[&stream]);
        assert!(whole.len() > 1, "seed {seed}: {whole:?}");

        let mut chunks: Vec<&[u8]> = Vec::new();
        let mut rest = &stream[..];
        while !rest.is_empty() {
            let size = [1, 2, 7, 13, 14, 100, 4096][rng.below(7)];
            let (chunk, after) = rest.split_at(rng.below(size + 1).min(rest.len()));
            chunks.push(chunk);
            rest = after;
        }
        let mut decoder = FrameDecoder::new(Role::Server, 1 << 20);
        let (split, most_pending) = feed(&mut decoder, &chunks);
        assert_eq!(split, whole, "seed {seed}");
        // The loop never holds more than an incomplete header.
        assert!(
            most_pending < MAX_HEADER,
            "seed {seed}: kept {most_pending}"
        );

        if seed % 10 == 0 {
            let bytes: Vec<&[u8]> = stream.chunks(1).collect();
            let mut decoder = FrameDecoder::new(Role::Server, 1 << 20);
            assert_eq!(
                feed(&mut decoder, &bytes).0,
                whole,
                "seed {seed}, byte by byte"
            );
        }
    }
}

/// The `ws_frame` fuzz target's input, reduced: pings whose payloads
/// arrive in pieces (the first over half of 125 bytes). `Vec` doubled the
/// control buffer past 125 bytes as the rest arrived, and the decoder held
/// more than the `max_payload + 128` it promises.
#[test]
fn a_control_payload_in_pieces_stays_within_the_memory_bound() {
    for max_payload in [0, 192] {
        for first in [1, 63, 64, 70, 82, 124] {
            let mut decoder = FrameDecoder::new(Role::Server, max_payload);
            let ping = client(Opcode::Ping, true, &[b'p'; MAX_CONTROL_PAYLOAD]);
            // Header (2 + 4 bytes of mask key), then the payload in two.
            let (head, payload) = ping.split_at(6);
            let (one, two) = payload.split_at(first);
            let (seen, _) = feed(&mut decoder, &[head, one, two]);
            assert_eq!(seen, [Seen::Ping(vec![b'p'; MAX_CONTROL_PAYLOAD])]);
            assert!(
                decoder.buffered_bytes() <= max_payload + 128,
                "{} bytes held, first piece {first}",
                decoder.buffered_bytes()
            );
        }
    }
}
