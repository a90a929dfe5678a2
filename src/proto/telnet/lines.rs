//! The Telnet filter in front of the line framer: what a line server reads
//! from a TCP peer that may or may not be a Telnet client.
//!
//! The plain framer works on the input as the loop hands it over, and
//! leaves the start of an unfinished line with the loop to be offered
//! again. That cannot work behind a filter: the filter has already
//! consumed (and perhaps answered) the commands in those bytes. So
//! [`TelnetLines`] consumes everything and keeps the start of the
//! unfinished line itself, filtered, in a buffer the framer's rules bound:
//! at most `max_line + 2` bytes (a longer line is reported and skipped).
//! Complete lines in a read are framed where they lie, without a copy.
//!
//! ## A line the client garbled
//!
//! When a key command (BRK, IP, ...) arrives in the middle of a line, the
//! client has put it in place of a byte the user typed: Debian's telnet
//! does that to UTF-8 bytes before it is in binary mode (see the parent
//! module). The line is dropped and reported as [`Frame::Garbled`], so
//! the user can be told why; the filter has by then asked for binary mode,
//! so the next line arrives intact. A key pressed at the start of a line
//! (Ctrl-C on an empty line) garbles nothing.
//!
//! Results go to a callback, in order, as they are found: the replies too,
//! so an answer to `DO TIMING-MARK` goes out before whatever the lines
//! after it make the server say (until that answer, the client discards
//! what it receives).
//!
//! ## Stopping part way
//!
//! The callback may stop the reading after any item (the member quit, or
//! its input has done enough work for this loop turn). The reader then
//! says how much of the input it consumed, and is left exactly as if it
//! had been given only that much: the rest is for the loop to offer again
//! later. That is possible because a frame always ends inside a run of
//! plain data (at its `\n`), where the filter has no state but "data".

use std::ops::ControlFlow;

use super::{Event, TelnetFilter};
use crate::proto::line::{Frame, LineFramer};

/// What [`TelnetLines::feed`] finds, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    /// Telnet negotiation to send to the peer now.
    Reply([u8; 3]),
    /// A line, or the reason one was dropped ([`Frame::Garbled`] among
    /// them).
    Frame(Frame<'a>),
}

/// Why and where [`TelnetLines::feed`] stopped before the end of its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped<B> {
    /// What the callback said when it stopped.
    pub why: B,
    /// Bytes of the input consumed; the rest is to be offered again.
    pub consumed: usize,
}

/// One connection's input: Telnet filter, line framer, and the start of
/// the line whose end has not arrived yet.
#[derive(Debug, Clone)]
pub struct TelnetLines {
    /// Removes and answers Telnet commands.
    filter: TelnetFilter,
    /// Finds the lines in what the filter lets through.
    framer: LineFramer,
    /// The unfinished line, filtered; at most `max_line + 2` bytes.
    pending: Vec<u8>,
    /// A key command arrived inside the line in `pending`.
    garbled: bool,
    /// `--max-line`, to bound `pending`.
    max_line: usize,
}

impl TelnetLines {
    /// A reader for lines of at most `max_line` bytes.
    pub fn new(max_line: usize) -> TelnetLines {
        TelnetLines {
            filter: TelnetFilter::new(),
            framer: LineFramer::new(max_line),
            pending: Vec::new(),
            garbled: false,
            max_line,
        }
    }

    /// Whether the peer has shown itself to be a Telnet client.
    pub fn is_telnet(&self) -> bool {
        self.filter.is_telnet()
    }

    /// Reads `input`, handing every [`Item`] to `sink` in order. If `sink`
    /// breaks, reading stops right after that item: the break is returned
    /// with how many bytes were consumed, and the rest of `input` is to be
    /// fed again later.
    pub fn feed<B>(
        &mut self,
        input: &[u8],
        mut sink: impl FnMut(Item<'_>) -> ControlFlow<B>,
    ) -> ControlFlow<Stopped<B>> {
        let mut filter = std::mem::take(&mut self.filter);
        let mut events = filter.events(input);
        let mut stopped = None;
        while let Some(event) = events.next() {
            let flow = match event {
                Event::Data(data) => self.push(data, &mut sink),
                Event::Key(_) => {
                    // Typed bytes turned into a command mid-line; at the
                    // start of a line it is only a key.
                    self.garbled |= !self.pending.is_empty();
                    ControlFlow::Continue(())
                }
                Event::Reply(reply) => sink(Item::Reply(reply.bytes())).map_break(|why| (why, 0)),
            };
            if let ControlFlow::Break((why, unread)) = flow {
                // `unread` bytes of this event's data were not consumed.
                stopped = Some(Stopped {
                    why,
                    consumed: events.consumed() - unread,
                });
                if unread > 0 {
                    // Stopped inside a run of data: the filter's state
                    // there is "data", whatever the run's end left.
                    events.resume_in_data();
                }
                break;
            }
        }
        self.filter = filter;
        match stopped {
            Some(stopped) => ControlFlow::Break(stopped),
            None => ControlFlow::Continue(()),
        }
    }

    /// Frames filtered data: complete lines where they lie, and the
    /// unfinished one into `pending`. On a break, says how many bytes of
    /// `data` it did not consume.
    fn push<B>(
        &mut self,
        mut data: &[u8],
        sink: &mut impl FnMut(Item<'_>) -> ControlFlow<B>,
    ) -> ControlFlow<(B, usize)> {
        while !data.is_empty() {
            if self.pending.is_empty() {
                // No line begun: frame the data where it lies.
                let mut lines = self.framer.lines(data);
                while let Some(frame) = lines.next() {
                    if let ControlFlow::Break(why) = sink(Item::Frame(frame)) {
                        return ControlFlow::Break((why, data.len() - lines.consumed()));
                    }
                }
                let used = lines.consumed();
                // What is left is the start of a line short enough to wait
                // for its end (the framer consumes longer ones).
                self.pending.extend_from_slice(&data[used..]);
                return ControlFlow::Continue(());
            }
            // Finish the line begun: up to its `\n`, or as far as the
            // framer needs to see that it is too long.
            let room = (self.max_line + 2)
                .saturating_sub(self.pending.len())
                .max(1);
            let take = match data.iter().position(|&b| b == b'\n') {
                Some(i) if i < room => i + 1,
                _ => room.min(data.len()),
            };
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            // At most one frame: only the last byte of `pending` may end
            // a line.
            let mut lines = self.framer.lines(&self.pending);
            let frame = lines.next();
            let used = lines.consumed();
            let flow = match frame {
                Some(_) if std::mem::take(&mut self.garbled) => sink(Item::Frame(Frame::Garbled)),
                Some(frame) => sink(Item::Frame(frame)),
                None => ControlFlow::Continue(()),
            };
            self.pending.drain(..used);
            if let ControlFlow::Break(why) = flow {
                return ControlFlow::Break((why, data.len()));
            }
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items as owned values, with replies as their bytes.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Owned {
        Reply([u8; 3]),
        Line(String),
        TooLong,
        InvalidUtf8,
        Garbled,
    }

    fn own(item: Item<'_>) -> Owned {
        match item {
            Item::Reply(bytes) => Owned::Reply(bytes),
            Item::Frame(Frame::Line(text)) => Owned::Line(text.to_string()),
            Item::Frame(Frame::TooLong) => Owned::TooLong,
            Item::Frame(Frame::InvalidUtf8) => Owned::InvalidUtf8,
            Item::Frame(Frame::Garbled) => Owned::Garbled,
        }
    }

    /// Feeds `chunks` whole; returns the items and the most memory the
    /// unfinished line ever held.
    fn feed(max_line: usize, chunks: &[&[u8]]) -> (Vec<Owned>, usize) {
        let mut reader = TelnetLines::new(max_line);
        let mut items = Vec::new();
        let mut most_pending = 0;
        for chunk in chunks {
            let flow: ControlFlow<Stopped<()>> = reader.feed(chunk, |item| {
                items.push(own(item));
                ControlFlow::Continue(())
            });
            assert!(flow.is_continue());
            most_pending = most_pending.max(reader.pending.capacity());
        }
        (items, most_pending)
    }

    fn line(text: &str) -> Owned {
        Owned::Line(text.to_string())
    }

    /// What Debian's telnet sends for `你好 ✓` typed in line mode, then
    /// the same line once it is in binary mode.
    const FIRST: &[u8] = b"\xe4\xbd\xa0\xe5\xa5\xbd \xe2\xff\xf3\xff\xfd\x06\x93\r\n";
    const SECOND: &[u8] = b"\xff\xfb\x00\xe4\xbd\xa0\xe5\xa5\xbd \xe2\x9c\x93\n";

    #[test]
    fn a_line_a_key_command_broke_is_garbled_and_the_next_one_arrives() {
        let (items, _) = feed(100, &[FIRST, SECOND]);
        assert_eq!(
            items,
            [
                Owned::Reply([255, 253, 0]), // DO BINARY: it showed itself
                Owned::Reply([255, 251, 6]), // WILL TIMING-MARK
                Owned::Garbled,
                line("你好 ✓"),
            ]
        );
    }

    /// A stream with every case: plain lines, CR LF, CR NUL, a garbled
    /// line, replies, a literal 255, a line over the limit.
    fn every_case() -> Vec<u8> {
        [
            FIRST,
            SECOND,
            b"plain\r\n",
            b"a\r\0b\n",
            b"\xff\xff\n",
            b"\xff\xfd\x06x\ry\nz\n",
            &[b'x'; 40],
            b"\n",
            b"q\n\0r\r\n",
            b"end\n",
        ]
        .concat()
    }

    #[test]
    fn the_same_in_any_chunking() {
        let stream = every_case();
        let (whole, _) = feed(16, &[&stream]);
        assert!(whole.contains(&Owned::TooLong) && whole.contains(&Owned::Garbled));
        for size in 1..stream.len() {
            let chunks: Vec<&[u8]> = stream.chunks(size).collect();
            assert_eq!(feed(16, &chunks).0, whole, "chunks of {size}");
        }
    }

    #[test]
    fn stopped_after_any_item_it_resumes_where_it_stopped() {
        let stream = every_case();
        let (whole, _) = feed(16, &[&stream]);
        for stop_after in 1..whole.len() {
            // Stop after `stop_after` items, then feed what was not
            // consumed, as the loop does with held input.
            let mut reader = TelnetLines::new(16);
            let mut items = Vec::new();
            let flow = reader.feed(&stream, |item| {
                items.push(own(item));
                match items.len() == stop_after {
                    true => ControlFlow::Break("enough"),
                    false => ControlFlow::Continue(()),
                }
            });
            let ControlFlow::Break(Stopped { why, consumed }) = flow else {
                panic!("did not stop after {stop_after} items");
            };
            assert_eq!(why, "enough");
            let flow: ControlFlow<Stopped<()>> = reader.feed(&stream[consumed..], |item| {
                items.push(own(item));
                ControlFlow::Continue(())
            });
            assert!(flow.is_continue());
            assert_eq!(items, whole, "stopped after {stop_after} items");
        }
    }

    #[test]
    fn a_key_at_the_start_of_a_line_garbles_nothing() {
        // Ctrl-C on an empty line: IAC IP IAC DO TIMING-MARK.
        let (items, _) = feed(100, &[b"\xff\xf4\xff\xfd\x06hi\r\n"]);
        assert_eq!(
            items,
            [
                Owned::Reply([255, 253, 0]),
                Owned::Reply([255, 251, 6]),
                line("hi"),
            ]
        );
    }

    #[test]
    fn plain_clients_see_the_framer_unchanged() {
        let (items, _) = feed(5, &[b"ab", b"c\nhello\r\n", b"toolong!\n\xc3(\nok\n"]);
        assert_eq!(
            items,
            [
                line("abc"),
                line("hello"),
                Owned::TooLong,
                Owned::InvalidUtf8,
                line("ok")
            ]
        );
    }

    #[test]
    fn the_unfinished_line_kept_is_bounded_by_max_line() {
        let long = vec![b'x'; 100_000];
        let (items, most_pending) = feed(16, &[b"abc", &long, &long, b"\nnext\n"]);
        assert_eq!(items, [Owned::TooLong, line("next")]);
        assert!(most_pending <= 2 * (16 + 2), "kept {most_pending} bytes");
    }
}
