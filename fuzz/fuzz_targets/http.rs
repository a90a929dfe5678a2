//! HTTP/1.1: any bytes, cut into reads anywhere, through
//! `Responder::answer_all` with the connection's state carried from one
//! read to the next, as `proto/http/mod.rs` does.
//!
//! Checks: nothing panics; a call never says it consumed more than it was
//! offered; the loop never has to keep a whole `MAX_HEAD` of unfinished
//! head; and the answers, joined, are the same whatever the cuts. One
//! difference is allowed, and it is the only one: a malformed head whose
//! end has not arrived. In one read httparse sees the fault at once and
//! the answer is a 400; cut into reads, later pieces are only searched for
//! the head's end (so a slow head costs linear time, see `request::parse`),
//! and the 400 waits for that end, the 8 KiB limit or `--header-timeout`.
//! So when the cut run ends inside a head, its answers must be the start
//! of the one-read answers, and the one-read run must have closed.

#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use reactor::event_loop::Stats;
use reactor::proto::http::exchange::{ConnState, Next, Responder};
use reactor::proto::http::request::MAX_HEAD;
use reactor::proto::http::response::StatsView;
use reactor_fuzz::{deliver, Input};

/// What one connection was answered, and how it ended.
struct Run {
    answers: Vec<u8>,
    state: ConnState,
    closed: bool,
    most_pending: usize,
}

/// Answers `reads` on one fresh connection.
fn answer(reads: &[&[u8]]) -> Run {
    // A fixed date, so two runs write the same bytes.
    let mut responder = Responder::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1 << 30));
    let stats = Stats::default();
    let mut state = ConnState::FRESH;
    let mut answers = Vec::new();
    let mut closed = false;
    let delivered = deliver(reads, |input| {
        if closed {
            // The loop closed the connection: nothing more is read.
            return input.len();
        }
        let (used, next) = responder.answer_all(&mut state, input, StatsView::Loop(&stats));
        assert!(used <= input.len(), "consumed {used} of {}", input.len());
        answers.append(&mut responder.out);
        closed = next == Next::Close;
        used
    });
    Run {
        answers,
        state,
        closed,
        most_pending: delivered.most_pending,
    }
}

fuzz_target!(|data: &[u8]| {
    let input = Input::parse(data);
    let whole = answer(&[input.stream]);
    let split = answer(&input.reads());
    for run in [&whole, &split] {
        assert!(
            run.most_pending < MAX_HEAD,
            "kept {} bytes of a head",
            run.most_pending
        );
    }
    let inside_a_head = |state: ConnState| matches!(state, ConnState::ReadingHead { .. });
    if inside_a_head(split.state) && !inside_a_head(whole.state) {
        assert!(whole.closed, "only an error answer may come early");
        assert!(
            whole.answers.starts_with(&split.answers),
            "cut answers are not the start of the one-read answers"
        );
    } else {
        assert_eq!(
            String::from_utf8_lossy(&split.answers),
            String::from_utf8_lossy(&whole.answers),
            "the cuts changed the answers"
        );
        assert_eq!(split.closed, whole.closed);
    }
});
