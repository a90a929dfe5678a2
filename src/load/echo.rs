//! `--mode echo`: TCP connections that send messages and verify every byte
//! that comes back (the generator itself is `requests.rs`).
//!
//! Each connection's byte stream is a pure function of (connection number,
//! offset in the stream), [`pattern`]. So nothing sent needs to be kept:
//! each returned byte is compared with the byte that must be at its offset,
//! and a byte flipped, dropped or duplicated by the server shows up as a
//! mismatch. A message is answered when its last byte is back.

use super::requests::{Answer, Broken, Exchange, RequestLoad};
use super::tally::Plan;

/// The echo load generator.
pub type EchoLoad = RequestLoad<EchoExchange>;

/// The byte at `offset` of connection `number`'s stream: a multiplicative
/// hash, so neighbouring bytes and neighbouring connections differ.
pub fn pattern(number: u64, offset: u64) -> u8 {
    let x = offset.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ number.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    (x >> 56) as u8
}

/// Echo's requests: `--size` bytes of the connection's stream each.
#[derive(Debug)]
pub struct EchoExchange {
    /// Bytes per message.
    size: u64,
}

/// Bytes of one connection's stream received (and verified) so far.
#[derive(Debug, Default)]
pub struct Received(u64);

impl Exchange for EchoExchange {
    type State = Received;

    fn new(plan: &Plan) -> Self {
        EchoExchange {
            size: plan.size as u64,
        }
    }

    fn write_request(&self, out: &mut Vec<u8>, number: u64, seq: u64) {
        let first = seq * self.size;
        out.extend((first..first + self.size).map(|offset| pattern(number, offset)));
    }

    fn read_answers(
        &self,
        received: &mut Received,
        number: u64,
        unanswered: usize,
        input: &[u8],
        answered: &mut dyn FnMut(Answer),
    ) -> Result<usize, Broken> {
        let before = received.0;
        // Bytes of the messages in flight not back yet: more than that is
        // something nobody sent.
        let owed = (unanswered as u64 * self.size).saturating_sub(before % self.size);
        let intact = input.len() as u64 <= owed
            && input
                .iter()
                .zip(before..)
                .all(|(&byte, offset)| byte == pattern(number, offset));
        if !intact {
            // The stream is out of step from here on.
            return Err(Broken::Mismatch);
        }
        received.0 += input.len() as u64;
        for _ in 0..received.0 / self.size - before / self.size {
            answered(Answer::Ok(self.size as usize));
        }
        Ok(input.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_differ_between_connections_and_offsets() {
        let a: Vec<u8> = (0..64).map(|o| pattern(0, o)).collect();
        let b: Vec<u8> = (0..64).map(|o| pattern(1, o)).collect();
        assert_ne!(a, b);
        assert!(a.windows(2).any(|w| w[0] != w[1]));
    }

    #[test]
    fn answers_are_counted_whole_and_extra_bytes_are_a_mismatch() {
        let echo = EchoExchange { size: 4 };
        let mut sent = Vec::new();
        echo.write_request(&mut sent, 7, 0);
        echo.write_request(&mut sent, 7, 1);
        let mut state = Received::default();
        let mut answers = Vec::new();
        let mut count = |a| answers.push(a);
        assert_eq!(
            echo.read_answers(&mut state, 7, 2, &sent[..3], &mut count),
            Ok(3)
        );
        assert_eq!(
            echo.read_answers(&mut state, 7, 2, &sent[3..], &mut count),
            Ok(5)
        );
        assert_eq!(answers, vec![Answer::Ok(4), Answer::Ok(4)]);
        let more = [pattern(7, 8)];
        let mut ignore = |_| {};
        assert_eq!(
            echo.read_answers(&mut state, 7, 0, &more, &mut ignore),
            Err(Broken::Mismatch),
            "a byte nobody sent"
        );
        let mut state = Received::default();
        let flipped = [sent[0] ^ 1];
        assert_eq!(
            echo.read_answers(&mut state, 7, 2, &flipped, &mut ignore),
            Err(Broken::Mismatch)
        );
    }
}
