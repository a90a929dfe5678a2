//! `LineFramer`, the framer of every line protocol (chat, the client):
//! any bytes, cut into reads anywhere. Checks that the cuts change
//! nothing (the same frames, the same bytes left over as in one read), that
//! no line is longer than `max_line`, and that the framer never makes the
//! loop keep more than `max_line + 1` bytes of an unfinished line.

#![no_main]

use libfuzzer_sys::fuzz_target;
use reactor::proto::line::{Frame, LineFramer};
use reactor_fuzz::{deliver, Delivered, Input};

/// A frame that outlives its input, to compare two runs.
#[derive(Debug, PartialEq, Eq)]
enum Owned {
    Line(String),
    TooLong,
    InvalidUtf8,
}

/// Frames `reads` with a fresh framer, as one connection would.
fn frame(max_line: usize, reads: &[&[u8]]) -> (Vec<Owned>, Delivered) {
    let mut framer = LineFramer::new(max_line);
    let mut frames = Vec::new();
    let delivered = deliver(reads, |input| {
        let mut lines = framer.lines(input);
        for frame in &mut lines {
            frames.push(match frame {
                Frame::Line(text) => {
                    assert!(text.len() <= max_line, "a line of {} bytes", text.len());
                    Owned::Line(text.to_string())
                }
                Frame::TooLong => Owned::TooLong,
                Frame::InvalidUtf8 => Owned::InvalidUtf8,
                // Only the Telnet reader in front of the framer finds these.
                Frame::Garbled => panic!("the framer reported a garbled line"),
            });
        }
        lines.consumed()
    });
    (frames, delivered)
}

fuzz_target!(|data: &[u8]| {
    let input = Input::parse(data);
    // Small limits, so the fuzzer meets the boundary often.
    let max_line = usize::from(input.config[0] % 64);
    let (whole, one_read) = frame(max_line, &[input.stream]);
    let (split, reads) = frame(max_line, &input.reads());
    assert_eq!(split, whole, "the cuts changed the frames");
    assert_eq!(
        reads.leftover, one_read.leftover,
        "the cuts changed the rest"
    );
    assert!(
        reads.most_pending <= max_line + 1,
        "kept {} bytes of an unfinished line (max_line {max_line})",
        reads.most_pending
    );
});
