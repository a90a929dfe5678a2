//! Property tests (proptest): for any input and any cutting of it into
//! reads, the framer finds what it finds in one read; and `max_line` holds
//! at exactly its boundary, however the line arrives. proptest shrinks a
//! failure to a smallest input and keeps it in `proptest-regressions/`, so
//! a failure found once is tried first ever after.

use proptest::prelude::*;

use super::*;

/// Cases per property: enough to cover the shapes, few enough that
/// `cargo test` stays fast.
const CASES: u32 = 256;

/// Bytes weighted towards what the framer looks for: `\n`, `\r`, invalid
/// and split UTF-8 (`é` is `c3 a9`), plain letters. One `select` from a
/// table rather than a union of strategies: much cheaper per byte in a
/// debug build.
fn stream_byte() -> impl Strategy<Value = u8> {
    const TABLE: &[u8] = b"\n\n\n\r\r\xff\xc3\xa9\x00\x1babcdefghijklmnopqrstuvwxyz";
    prop::sample::select(TABLE)
}

/// `stream` cut after each size in `sizes` (each at least 1); what the
/// sizes do not cover is the last read.
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn any_cuts_give_the_frames_of_one_read(
        max_line in 0usize..40,
        stream in prop::collection::vec(stream_byte(), 0..600),
        sizes in prop::collection::vec(1usize..60, 0..60),
    ) {
        let (whole, _) = feed(max_line, &[&stream]);
        let (split, most_pending) = feed(max_line, &cut(&stream, &sizes));
        prop_assert_eq!(split, whole);
        prop_assert!(most_pending <= max_line + 1, "kept {}", most_pending);
    }

    #[test]
    fn a_line_of_max_line_bytes_passes_and_one_more_is_too_long(
        max_line in 0usize..300,
        crlf in any::<bool>(),
        sizes in prop::collection::vec(1usize..40, 0..40),
    ) {
        let end: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let fits = "x".repeat(max_line);
        let mut stream = fits.clone().into_bytes();
        stream.extend_from_slice(end);
        stream.extend(std::iter::repeat_n(b'y', max_line + 1));
        stream.extend_from_slice(end);
        stream.extend_from_slice(b"next\n");
        let (frames, _) = feed(max_line, &cut(&stream, &sizes));
        let mut expected = vec![Owned::Line(fits), Owned::TooLong];
        if max_line >= 4 {
            expected.push(line("next"));
        } else {
            expected.push(Owned::TooLong);
        }
        prop_assert_eq!(frames, expected);
    }
}
