//! The random numbers a WebSocket client needs: a 16-byte nonce for the
//! handshake's `Sec-WebSocket-Key`, and a fresh 4-byte mask key for every
//! frame it sends (RFC 6455 sections 4.1 and 5.3).
//!
//! Masking exists so that a script in a browser cannot make the bytes on
//! the wire predictable to a proxy in between; it protects nothing here.
//! A load generator only has to send what a client sends, so the keys come
//! from xorshift64* (a few instructions per frame, no crate), seeded from
//! the standard library's `RandomState`, which the operating system's
//! random source keys.

use std::hash::{BuildHasher, Hasher};

/// A source of mask keys and nonces.
#[derive(Debug, Clone)]
pub struct Masks {
    /// xorshift64* state; never zero.
    state: u64,
}

impl Masks {
    /// A source seeded from the operating system's randomness.
    pub fn seeded() -> Masks {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u8(0);
        Masks::from_seed(hasher.finish())
    }

    /// A source with a known seed (tests, and one source per member drawn
    /// from the loop's).
    pub fn from_seed(seed: u64) -> Masks {
        Masks { state: seed.max(1) }
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        // xorshift64* (Vigna, 2014): passes BigCrush but for the lowest bits.
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A mask key for one frame.
    pub fn key(&mut self) -> [u8; 4] {
        // The high bits are xorshift64*'s best.
        ((self.next() >> 32) as u32).to_le_bytes()
    }

    /// 16 bytes for a `Sec-WebSocket-Key`.
    pub fn nonce(&mut self) -> [u8; 16] {
        let mut nonce = [0u8; 16];
        let (high, low) = nonce.split_at_mut(8);
        high.copy_from_slice(&self.next().to_le_bytes());
        low.copy_from_slice(&self.next().to_le_bytes());
        nonce
    }
}

#[cfg(test)]
mod tests {
    use super::Masks;

    #[test]
    fn keys_change_from_frame_to_frame_and_seed_to_seed() {
        let mut a = Masks::from_seed(1);
        let keys: Vec<[u8; 4]> = (0..8).map(|_| a.key()).collect();
        assert!(keys.windows(2).all(|w| w[0] != w[1]), "{keys:?}");
        let mut b = Masks::from_seed(2);
        assert_ne!(Masks::from_seed(1).nonce(), b.nonce());
        assert_ne!(Masks::seeded().next(), Masks::seeded().next());
    }
}
