//! What the fuzz targets share: how one fuzzer input becomes a few
//! settings, the cuts between reads, and the bytes a peer sends; and the
//! loop's way of offering those reads to a parser.
//!
//! A parser on the server never sees "a message": it sees whatever one
//! `read` returned, behind whatever it left unconsumed last time. So every
//! target lets the input choose the cuts as well as the bytes, and most
//! compare the result with the same bytes offered in one piece.

/// One fuzzer input, taken apart. Layout: four setting bytes, one byte
/// `N`, `N` cut bytes, then the stream. A short input leaves the missing
/// parts zero or empty, so every input is used.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// Settings; each target says what its bytes mean.
    pub config: [u8; 4],
    /// One byte per read, giving its length (see [`reads`]).
    pub cuts: &'a [u8],
    /// The bytes the peer sends.
    pub stream: &'a [u8],
}

impl<'a> Input<'a> {
    /// Takes a fuzzer input apart.
    pub fn parse(data: &'a [u8]) -> Input<'a> {
        let mut config = [0; 4];
        let head = data.len().min(4);
        config[..head].copy_from_slice(&data[..head]);
        let rest = &data[head..];
        let (cuts, stream) = match rest.split_first() {
            Some((&n, rest)) => rest.split_at(usize::from(n).min(rest.len())),
            None => (&[][..], &[][..]),
        };
        Input {
            config,
            cuts,
            stream,
        }
    }

    /// The stream cut into reads as [`reads`] does.
    pub fn reads(&self) -> Vec<&'a [u8]> {
        reads(self.stream, self.cuts)
    }
}

/// How long a read is, from its cut byte: 1 to 240 bytes for most bytes,
/// so lines and headers are split everywhere; from `0xF0` on, powers of two
/// from 256 bytes to 8 MiB, so a read can also hold a whole large message.
pub fn read_len(cut: u8) -> usize {
    match cut {
        0..=0xEF => usize::from(cut) + 1,
        big => 1 << (usize::from(big - 0xF0) + 8),
    }
}

/// `stream` cut into non-empty reads (the loop never delivers an empty
/// one: a read of 0 bytes is end of input), one per cut byte; whatever the
/// cuts leave is the last read.
pub fn reads<'a>(stream: &'a [u8], cuts: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = stream;
    for &cut in cuts {
        if rest.is_empty() {
            break;
        }
        let (read, after) = rest.split_at(read_len(cut).min(rest.len()));
        out.push(read);
        rest = after;
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// What [`deliver`] leaves behind.
#[derive(Debug, Default)]
pub struct Delivered {
    /// Input the parser has not consumed at the end.
    pub leftover: Vec<u8>,
    /// The most unconsumed bytes ever kept between two reads: what the
    /// loop's `pending_input` would have held for this peer.
    pub most_pending: usize,
}

/// Offers `reads` to `on_input` the way the loop does (`event_loop`'s
/// `deliver`): each read is appended to what the parser left unconsumed,
/// the parser says how many bytes it consumed, and the rest waits for the
/// next read. Panics if the parser claims more bytes than it was offered.
pub fn deliver<F>(reads: &[&[u8]], mut on_input: F) -> Delivered
where
    F: FnMut(&[u8]) -> usize,
{
    let mut pending = Vec::new();
    let mut most_pending = 0;
    for read in reads {
        pending.extend_from_slice(read);
        let used = on_input(&pending);
        assert!(
            used <= pending.len(),
            "consumed {used} of {} bytes",
            pending.len()
        );
        pending.drain(..used);
        most_pending = most_pending.max(pending.len());
    }
    Delivered {
        leftover: pending,
        most_pending,
    }
}
