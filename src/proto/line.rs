//! The line framer every line protocol shares: bytes in, lines out.
//!
//! TCP delivers a byte stream, not messages: one `read` may hold half a
//! line, or fifty lines and the start of the next. The framer finds the
//! lines in whatever one read brought and says how many bytes it *consumed*;
//! the loop keeps the rest (the start of a line whose `\n` has not arrived)
//! in the connection's `pending_input` and offers it again, in front of the
//! next bytes. That is mini-redis's "incomplete, read more", and it is why
//! the framer itself holds no buffer, only one bit of state.
//!
//! The rules (`docs/reference.md`, "reactor chat"):
//!
//! * `\n` ends a line; one trailing `\r` is stripped, so `nc` (which sends
//!   `\n`) and `telnet` (which sends `\r\n`) look the same.
//! * A line is at most `max_line` bytes (`--max-line`), not counting its
//!   terminator. A longer one is reported as [`Frame::TooLong`] *once*, and
//!   dropped. If its end has not arrived yet, the framer consumes what there
//!   is and enters *skip mode*: everything up to the next `\n` is thrown
//!   away as it arrives. So a peer that sends an endless line costs the
//!   server at most `max_line + 1` bytes of memory, and the connection is
//!   kept: the next line is served as usual.
//! * Each line must be UTF-8, checked line by line: a bad line is reported
//!   as [`Frame::InvalidUtf8`] and dropped, the next one is served.
//!
//! None of this depends on how the stream was cut into reads: the tests at
//! the end feed the same bytes in every kind of chunking and check that the
//! frames come out the same.
//!
//! ```
//! use reactor::proto::line::{Frame, LineFramer};
//!
//! let mut framer = LineFramer::new(16);
//! // One read brought a line and a half; `\r\n` and `\n` both end a line.
//! let input = b"hello\r\nwor";
//! let mut lines = framer.lines(input);
//! assert_eq!(lines.next(), Some(Frame::Line("hello")));
//! assert_eq!(lines.next(), None); // `wor` has no end yet
//! let consumed = lines.consumed();
//! assert_eq!(&input[consumed..], b"wor"); // kept, to be offered again
//!
//! // The next read: the kept bytes first, then the new ones.
//! let next = [&input[consumed..], b"ld\n"].concat();
//! let frames: Vec<Frame> = framer.lines(&next).collect();
//! assert_eq!(frames, [Frame::Line("world")]);
//!
//! // A line over the limit is reported once and dropped; the next is served.
//! let long = [b"x".repeat(40), b"\nok\n".to_vec()].concat();
//! let frames: Vec<Frame> = framer.lines(&long).collect();
//! assert_eq!(frames, [Frame::TooLong, Frame::Line("ok")]);
//! ```

/// What the framer found: a line, or the reason one was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A complete line, without its `\n` or trailing `\r`.
    Line(&'a str),
    /// A line over the limit: dropped (reported once per line).
    TooLong,
    /// A line that is not valid UTF-8: dropped.
    InvalidUtf8,
    /// A line a Telnet client garbled (a Telnet command arrived in its
    /// middle): dropped. The framer never finds one itself; the Telnet
    /// reader in front of it does (`proto/telnet/lines.rs`).
    Garbled,
}

/// Splits one connection's byte stream into lines. One per connection; it
/// remembers only whether it is skipping the rest of an over-long line.
#[derive(Debug, Clone)]
pub struct LineFramer {
    /// Most bytes a line may have, not counting `\r\n`.
    max_line: usize,
    /// Inside an over-long line already reported: drop bytes until `\n`.
    skipping: bool,
}

impl LineFramer {
    /// A framer for lines of at most `max_line` bytes.
    pub fn new(max_line: usize) -> LineFramer {
        LineFramer {
            max_line,
            skipping: false,
        }
    }

    /// The frames in `input`, for a `for` loop. After the loop,
    /// [`Lines::consumed`] says how many bytes were used; the rest is the
    /// start of a line to offer again with more bytes behind it.
    pub fn lines<'f, 'a>(&'f mut self, input: &'a [u8]) -> Lines<'f, 'a> {
        Lines {
            framer: self,
            input,
            pos: 0,
        }
    }

    /// Whether the framer is dropping the rest of an over-long line.
    pub fn is_skipping(&self) -> bool {
        self.skipping
    }
}

/// The frames of one input slice; see [`LineFramer::lines`].
#[derive(Debug)]
pub struct Lines<'f, 'a> {
    framer: &'f mut LineFramer,
    input: &'a [u8],
    /// Bytes of `input` consumed so far.
    pos: usize,
}

impl Lines<'_, '_> {
    /// Bytes consumed so far. Everything after them is an incomplete line
    /// short enough to wait for its end.
    pub fn consumed(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for Lines<'_, 'a> {
    type Item = Frame<'a>;

    fn next(&mut self) -> Option<Frame<'a>> {
        loop {
            let rest = &self.input[self.pos..];
            let newline = rest.iter().position(|&b| b == b'\n');
            if self.framer.skipping {
                match newline {
                    // The end of the line already reported: drop it, go on
                    // with the next line.
                    Some(i) => {
                        self.pos += i + 1;
                        self.framer.skipping = false;
                        continue;
                    }
                    None => {
                        self.pos = self.input.len();
                        return None;
                    }
                }
            }
            let Some(i) = newline else {
                // No end yet. Keep waiting while the line could still fit:
                // `max_line` bytes and perhaps the `\r` of a `\r\n`.
                if rest.len() > self.framer.max_line + 1 {
                    self.pos = self.input.len();
                    self.framer.skipping = true;
                    return Some(Frame::TooLong);
                }
                return None;
            };
            self.pos += i + 1;
            let line = &rest[..i];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.len() > self.framer.max_line {
                return Some(Frame::TooLong);
            }
            return Some(match std::str::from_utf8(line) {
                Ok(text) => Frame::Line(text),
                Err(_) => Frame::InvalidUtf8,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    mod props;

    /// Owned frames, to compare runs over different chunkings.
    #[derive(Debug, PartialEq, Eq)]
    enum Owned {
        Line(String),
        TooLong,
        InvalidUtf8,
        Garbled,
    }

    fn own(frame: Frame<'_>) -> Owned {
        match frame {
            Frame::Line(text) => Owned::Line(text.to_string()),
            Frame::TooLong => Owned::TooLong,
            Frame::InvalidUtf8 => Owned::InvalidUtf8,
            Frame::Garbled => Owned::Garbled,
        }
    }

    /// Feeds `chunks` the way the loop does: unconsumed bytes are kept and
    /// offered again in front of the next chunk. Returns the frames and the
    /// most bytes ever kept waiting.
    fn feed(max_line: usize, chunks: &[&[u8]]) -> (Vec<Owned>, usize) {
        let mut framer = LineFramer::new(max_line);
        let mut pending = Vec::new();
        let mut frames = Vec::new();
        let mut most_pending = 0;
        for chunk in chunks {
            pending.extend_from_slice(chunk);
            let mut lines = framer.lines(&pending);
            frames.extend((&mut lines).map(own));
            let used = lines.consumed();
            pending.drain(..used);
            most_pending = most_pending.max(pending.len());
        }
        (frames, most_pending)
    }

    fn line(text: &str) -> Owned {
        Owned::Line(text.to_string())
    }

    #[test]
    fn newline_ends_a_line_and_a_trailing_cr_is_stripped() {
        let (frames, _) = feed(100, &[b"hello\nworld\r\n\n\r\nlast"]);
        assert_eq!(
            frames,
            [line("hello"), line("world"), line(""), line("")],
            "`last` has no end yet"
        );
    }

    #[test]
    fn only_one_trailing_cr_is_stripped_and_inner_ones_kept() {
        let (frames, _) = feed(100, &[b"a\rb\r\r\n"]);
        assert_eq!(frames, [line("a\rb\r")]);
    }

    #[test]
    fn a_line_split_over_many_reads_is_one_line() {
        let chunks: Vec<&[u8]> = vec![b"he", b"l", b"", b"lo wor", b"ld\r", b"\n"];
        let (frames, _) = feed(100, &chunks);
        assert_eq!(frames, [line("hello world")]);
    }

    #[test]
    fn exactly_max_line_bytes_fits_with_or_without_cr() {
        let (frames, _) = feed(5, &[b"12345\n", b"12345\r", b"\n", b"123456\n"]);
        assert_eq!(frames, [line("12345"), line("12345"), Owned::TooLong]);
    }

    #[test]
    fn an_over_long_line_is_reported_once_and_the_next_line_served() {
        let mut chunks: Vec<&[u8]> = vec![b"abc"];
        let long = vec![b'x'; 10_000];
        for piece in long.chunks(7) {
            chunks.push(piece);
        }
        chunks.push(b"tail\nnext\n");
        let (frames, most_pending) = feed(16, &chunks);
        assert_eq!(frames, [Owned::TooLong, line("next")]);
        assert!(
            most_pending <= 17,
            "kept {most_pending} bytes of a dropped line"
        );
    }

    #[test]
    fn invalid_utf8_drops_only_that_line() {
        let (frames, _) = feed(100, &[b"ok\n\xff\xfe\nh\xc3\xa9\n\xc3\n"]);
        assert_eq!(
            frames,
            [
                line("ok"),
                Owned::InvalidUtf8,
                line("hé"),
                Owned::InvalidUtf8
            ]
        );
    }

    #[test]
    fn a_multibyte_character_split_between_reads_is_kept_whole() {
        let (frames, _) = feed(100, &[b"caf\xc3", b"\xa9\n"]);
        assert_eq!(frames, [line("café")]);
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

    /// A stream mixing everything the framer must handle: short lines,
    /// `\r\n`, empty lines, lines at and over the limit, invalid UTF-8.
    fn mixed_stream(rng: &mut Rng, max_line: usize) -> Vec<u8> {
        let mut stream = Vec::new();
        for _ in 0..200 {
            let len = match rng.below(4) {
                0 => rng.below(4),
                1 => max_line + rng.below(3) - 1,
                2 => max_line * 3 + rng.below(50),
                _ => rng.below(max_line),
            };
            for _ in 0..len {
                stream.push(match rng.below(20) {
                    0 => 0xff,
                    1 => b'\r',
                    2 => 0xc3,
                    3 => 0xa9,
                    _ => b'a' + rng.below(26) as u8,
                });
            }
            if rng.below(2) == 0 {
                stream.push(b'\r');
            }
            stream.push(b'\n');
        }
        stream
    }

    #[test]
    fn any_split_into_chunks_yields_the_same_frames() {
        for seed in 1..200u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let max_line = 1 + rng.below(40);
            let stream = mixed_stream(&mut rng, max_line);
            let (whole, _) = feed(max_line, &[&stream]);

            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut rest = &stream[..];
            while !rest.is_empty() {
                let take = (1 + rng.below(3 * max_line)).min(rest.len());
                chunks.push(&rest[..take]);
                rest = &rest[take..];
            }
            let (split, most_pending) = feed(max_line, &chunks);
            assert_eq!(split, whole, "seed {seed}, max_line {max_line}");

            let bytes: Vec<&[u8]> = stream.chunks(1).collect();
            let (one_by_one, _) = feed(max_line, &bytes);
            assert_eq!(one_by_one, whole, "seed {seed}, byte by byte");

            // Memory stays bounded by the limit, whatever the input.
            assert!(
                most_pending <= max_line + 1,
                "seed {seed}: kept {most_pending}"
            );
        }
    }
}
