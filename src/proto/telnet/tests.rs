//! The filter driven with byte strings: what it lets through, what it
//! answers, and that neither depends on how the bytes were cut into reads.

use super::*;

/// Everything a run of the filter produced, with data runs merged, so
/// runs over different chunkings compare equal.
#[derive(Debug, Default, PartialEq, Eq)]
struct Out {
    /// The data, concatenated.
    data: Vec<u8>,
    /// Keys and replies, each with how many data bytes came before it.
    commands: Vec<(usize, String)>,
}

impl Out {
    /// The replies' bytes, concatenated: what the host would send.
    fn reply_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        for (_, command) in &self.commands {
            if let Some(reply) = command.strip_prefix("reply ") {
                bytes.extend(reply.split(' ').map(|b| b.parse::<u8>().unwrap_or(0)));
            }
        }
        bytes
    }
}

fn filter(chunks: &[&[u8]]) -> (Out, TelnetFilter) {
    let mut filter = TelnetFilter::new();
    let mut out = Out::default();
    for chunk in chunks {
        for event in filter.events(chunk) {
            match event {
                Event::Data(data) => out.data.extend_from_slice(data),
                Event::Key(key) => out.commands.push((out.data.len(), format!("{key:?}"))),
                Event::Reply(reply) => {
                    let [a, b, c] = reply.bytes();
                    out.commands
                        .push((out.data.len(), format!("reply {a} {b} {c}")));
                }
            }
        }
    }
    (out, filter)
}

fn whole(bytes: &[u8]) -> (Out, TelnetFilter) {
    filter(&[bytes])
}

#[test]
fn plain_bytes_pass_unchanged_and_nothing_is_sent() {
    let text = "hello\r\n你好 ✓\n\t\u{1b}[0m\r".as_bytes();
    let (out, filter) = whole(text);
    assert_eq!(out.data, text);
    assert!(out.commands.is_empty());
    assert!(!filter.is_telnet());
}

#[test]
fn iac_iac_is_a_literal_255_and_no_sign_of_telnet() {
    let (out, filter) = whole(b"a\xff\xffb\xff\xff");
    assert_eq!(out.data, b"a\xffb\xff");
    assert!(out.commands.is_empty());
    assert!(!filter.is_telnet());
}

#[test]
fn a_255_before_a_non_command_byte_is_data() {
    // Not UTF-8 and not Telnet: both bytes are data, the framer will
    // call the line invalid.
    let (out, filter) = whole(b"\xff\x41\xff\xc3\xa9");
    assert_eq!(out.data, b"\xff\x41\xff\xc3\xa9");
    assert!(!filter.is_telnet());
}

#[test]
fn cr_nul_is_cr_and_cr_lf_is_kept() {
    let (out, _) = whole(b"a\r\0b\r\nc\r\r\0\0");
    assert_eq!(out.data, b"a\rb\r\nc\r\r\0");
}

#[test]
fn timing_mark_is_answered_and_the_peer_asked_for_binary() {
    let (out, filter) = whole(b"ab\xff\xfd\x06cd");
    assert_eq!(out.data, b"abcd");
    assert_eq!(
        out.commands,
        [
            (2, "reply 255 253 0".to_string()), // DO BINARY
            (2, "reply 255 251 6".to_string()), // WILL TIMING-MARK
        ]
    );
    assert!(filter.is_telnet());
    assert!(!filter.sends_binary(), "asked, not yet answered");
}

#[test]
fn what_debians_telnet_sends_for_a_check_mark_in_line_mode() {
    // `✓` is E2 9C 93; 9C stripped is Ctrl-\, sent as BRK + DO TM.
    let (out, filter) = whole(b"\xe2\xff\xf3\xff\xfd\x06\x93\r\n");
    assert_eq!(out.data, b"\xe2\x93\r\n");
    assert_eq!(
        out.commands,
        [
            (1, "Break".to_string()),
            (1, "reply 255 253 0".to_string()),
            (1, "reply 255 251 6".to_string()),
        ]
    );
    assert!(filter.is_telnet());
}

#[test]
fn binary_once_agreed_is_not_answered_again() {
    // Our DO, its WILL (the answer), a repeat WILL: one DO in all.
    let (out, filter) = whole(b"\xff\xf1\xff\xfb\x00\xff\xfb\x00");
    assert_eq!(out.reply_bytes(), [255, 253, 0]);
    assert!(filter.sends_binary());
    // It may stop; that is acknowledged once, and a repeat is not.
    let (out, filter) = whole(b"\xff\xf1\xff\xfb\x00\xff\xfc\x00\xff\xfc\x00");
    assert_eq!(out.reply_bytes(), [255, 253, 0, 255, 254, 0]);
    assert!(!filter.sends_binary());
}

#[test]
fn binary_offered_before_we_asked_is_accepted_once() {
    let (out, filter) = whole(b"\xff\xfb\x00");
    assert_eq!(out.reply_bytes(), [255, 253, 0]);
    assert!(filter.sends_binary());
}

#[test]
fn binary_refused_is_left_off() {
    let (out, filter) = whole(b"\xff\xf1\xff\xfc\x00");
    assert_eq!(out.reply_bytes(), [255, 253, 0]);
    assert!(!filter.sends_binary());
}

#[test]
fn every_other_option_is_refused_and_a_refusal_not_answered() {
    // What `telnet HOST -PORT` opens with: DO SGA, WILL TTYPE, WILL NAWS,
    // WILL LINEMODE, DO STATUS; then DONT ECHO and WONT NAWS, which ask
    // for what is already so.
    let (out, _) = whole(
        b"\xff\xfd\x03\xff\xfb\x18\xff\xfb\x1f\xff\xfb\x22\xff\xfd\x05\xff\xfe\x01\xff\xfc\x1f",
    );
    assert_eq!(
        out.reply_bytes(),
        [
            255, 253, 0, // DO BINARY: it showed itself
            255, 252, 3, // WONT SUPPRESS-GO-AHEAD
            255, 254, 24, // DONT TERMINAL-TYPE
            255, 254, 31, // DONT NAWS
            255, 254, 34, // DONT LINEMODE
            255, 252, 5, // WONT STATUS
        ]
    );
    assert!(out.data.is_empty());
}

#[test]
fn subnegotiations_are_skipped_with_escaped_255s_inside() {
    // NAWS: 80 columns (0 80), 255 rows (0 IAC IAC).
    let (out, filter) = whole(b"a\xff\xfa\x1f\x00\x50\x00\xff\xff\xff\xf0b");
    assert_eq!(out.data, b"ab");
    assert!(filter.is_telnet());
}

#[test]
fn a_subnegotiation_without_its_end_ends_at_the_next_command() {
    let (out, _) = whole(b"\xff\xfa\x18\x01junk\xff\xfd\x06ok");
    assert_eq!(out.data, b"ok");
    assert_eq!(out.reply_bytes(), [255, 253, 0, 255, 251, 6]);
}

#[test]
fn commands_that_are_no_key_leave_no_trace() {
    // NOP, DM, GA, EOR, a stray SE.
    let (out, _) = whole(b"a\xff\xf1\xff\xf2\xff\xf9\xff\xef\xff\xf0b");
    assert_eq!(out.data, b"ab");
    assert_eq!(out.commands, [(1, "reply 255 253 0".to_string())]);
}

#[test]
fn keys_are_reported_by_name() {
    let (out, _) =
        whole(b"\xff\xf4\xff\xf3\xff\xf5\xff\xf6\xff\xf7\xff\xf8\xff\xec\xff\xed\xff\xee");
    let keys: Vec<&str> = out
        .commands
        .iter()
        .map(|(_, c)| c.as_str())
        .filter(|c| !c.starts_with("reply"))
        .collect();
    assert_eq!(
        keys,
        [
            "InterruptProcess",
            "Break",
            "AbortOutput",
            "AreYouThere",
            "EraseCharacter",
            "EraseLine",
            "EndOfFile",
            "Suspend",
            "Abort"
        ]
    );
}

#[test]
fn replies_read_as_the_protocol_names_them() {
    let will_tm = Reply {
        verb: Verb::Will,
        option: TIMING_MARK,
    };
    assert_eq!(will_tm.to_string(), "WILL TIMING-MARK");
    let dont_naws = Reply {
        verb: Verb::Dont,
        option: 31,
    };
    assert_eq!(dont_naws.to_string(), "DONT option 31");
}

/// xorshift: deterministic pseudo-random numbers for the property test.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// A stream of everything the filter must handle, in random order.
fn mixed_stream(rng: &mut Rng) -> Vec<u8> {
    const PIECES: &[&[u8]] = &[
        b"hello ",
        "你好 ✓".as_bytes(),
        b"\r\n",
        b"\r\0",
        b"\r",
        b"\0",
        b"\xff\xff",
        b"\xff\x41",
        b"\xff\xfd\x06",
        b"\xff\xfb\x00",
        b"\xff\xfc\x00",
        b"\xff\xfd\x03",
        b"\xff\xfb\x18",
        b"\xff\xf3",
        b"\xff\xf4",
        b"\xff\xf1",
        b"\xff\xfa\x1f\x00\x50\x00\xff\xff\xff\xf0",
        b"\xff\xfa\x18\x00xterm\xff\xf0",
    ];
    let mut stream = Vec::new();
    for _ in 0..100 {
        stream.extend_from_slice(PIECES[rng.below(PIECES.len())]);
    }
    stream
}

#[test]
fn any_split_into_chunks_gives_the_same_output() {
    for seed in 1..300u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let stream = mixed_stream(&mut rng);
        let (all_at_once, _) = whole(&stream);

        let mut chunks: Vec<&[u8]> = Vec::new();
        let mut rest = &stream[..];
        while !rest.is_empty() {
            let take = (1 + rng.below(12)).min(rest.len());
            chunks.push(&rest[..take]);
            rest = &rest[take..];
        }
        assert_eq!(filter(&chunks).0, all_at_once, "seed {seed}");

        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(filter(&bytes).0, all_at_once, "seed {seed}, byte by byte");
    }
}

#[test]
fn a_subnegotiation_split_across_reads_is_skipped_whole() {
    let stream: &[u8] = b"x\xff\xfa\x1f\x00\x50\x00\xff\xff\xff\xf0y";
    for cut in 1..stream.len() {
        let (first, second) = stream.split_at(cut);
        let (out, _) = filter(&[first, second]);
        assert_eq!(out.data, b"xy", "cut at {cut}");
    }
}
