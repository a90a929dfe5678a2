//! Every decoder of the web transports fed random input: each returns a
//! value or an error, and none panics, whatever a peer sends.

use super::{engineio, frame, handshake, socketio};

/// xorshift: deterministic pseudo-random numbers.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    /// Bytes weighted towards what the parsers look for.
    fn bytes(&mut self, max_len: usize) -> Vec<u8> {
        const INTERESTING: &[u8] = b"0123456789/,[]{}\":b-=&\x1e\x80\x81\x7e\x7f\xc3\xa9\xff ";
        (0..self.below(max_len + 1))
            .map(|_| match self.below(3) {
                0 => self.below(256) as u8,
                _ => INTERESTING[self.below(INTERESTING.len())],
            })
            .collect()
    }
}

#[test]
fn random_input_never_panics_any_decoder() {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut events = 0;
    for _ in 0..5_000 {
        let input = rng.bytes(64);
        for role in [frame::Role::Server, frame::Role::Client] {
            let mut decoder = frame::FrameDecoder::new(role, 100);
            let mut rest = &input[..];
            loop {
                let (used, outcome) = decoder.decode(rest);
                rest = rest.get(used..).unwrap_or_default();
                match outcome {
                    Ok(Some(_)) => events += 1,
                    Ok(None) | Err(_) => break,
                }
            }
        }
        let _ = engineio::decode_payload(&input);
        if let Ok(text) = std::str::from_utf8(&input) {
            let _ = socketio::decode(text);
            let _ = engineio::decode_packet(text);
            let _ = engineio::parse_query(text);
            let _ = engineio::parse_handshake(text);
            let _ = handshake::check([("Sec-WebSocket-Key", &input[..]), (text, &input[..])]);
        }
        let _ = handshake::check([
            ("Upgrade", &b"websocket"[..]),
            ("Connection", b"Upgrade"),
            ("Sec-WebSocket-Version", b"13"),
            ("Sec-WebSocket-Key", &input[..]),
        ]);
    }
    // The input is random enough to get past the header checks at times.
    assert!(events > 0);
}
