//! How many datagrams the UDP client lets out before it hears back, and
//! what it says about the replies at the end. No sockets and no clock:
//! time comes in as arguments, so the tests run on made-up instants.
//!
//! ## Why a window
//!
//! `send` on a UDP socket succeeds as soon as the datagram is handed to the
//! kernel; nothing tells the sender that the server is behind. A client
//! that sends as fast as stdin gives it lines fills the server's receive
//! buffer in a moment, and the kernel drops the rest: 5,000 lines once got
//! 402 replies. So, like TCP's window, at most `--window` datagrams may be
//! unanswered at once; each reply lets one more out. UDP does not say which
//! datagram a reply answers, so a reply frees the oldest. And because a
//! server need not answer every datagram, and the network may lose one, a
//! datagram unanswered for `--wait` stops counting: without that, the
//! first loss would stall the client forever.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Datagrams sent and not yet answered (or given up on), oldest first.
#[derive(Debug)]
pub struct Window {
    /// Most datagrams unanswered at once.
    limit: usize,
    /// How long a reply may take before its datagram stops counting.
    wait: Duration,
    /// When each unanswered datagram was sent, oldest first.
    sent_at: VecDeque<Instant>,
}

impl Window {
    /// A window of `limit` datagrams (at least one) whose replies may take
    /// `wait`.
    pub fn new(limit: usize, wait: Duration) -> Window {
        Window {
            limit: limit.max(1),
            wait,
            sent_at: VecDeque::new(),
        }
    }

    /// Whether one more datagram may be sent now.
    pub fn has_room(&self) -> bool {
        self.sent_at.len() < self.limit
    }

    /// A datagram left at `at`.
    pub fn sent(&mut self, at: Instant) {
        self.sent_at.push_back(at);
    }

    /// A reply arrived: the oldest datagram counts as answered. (A reply
    /// to nothing, such as a second reply or a late one, frees nothing.)
    pub fn answered(&mut self) {
        self.sent_at.pop_front();
    }

    /// Stops counting datagrams sent `wait` or longer before `now`;
    /// returns how many.
    pub fn expire(&mut self, now: Instant) -> usize {
        let before = self.sent_at.len();
        while self
            .sent_at
            .front()
            .is_some_and(|&at| at + self.wait <= now)
        {
            self.sent_at.pop_front();
        }
        before - self.sent_at.len()
    }

    /// When the oldest unanswered datagram will stop counting.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.sent_at.front().map(|&at| at + self.wait)
    }
}

/// Datagrams sent and replies received over a whole run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Datagrams sent.
    pub sent: u64,
    /// Replies received (a server may send more than one per datagram).
    pub replies: u64,
}

/// What the run's counts say to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every datagram had a reply (or nothing was sent): the counts, said
    /// as information.
    Answered(String),
    /// Some replies are missing: the counts, said as a warning. The exit
    /// status stays 0 (see `docs/reference.md`).
    Missing(String),
    /// Datagrams were sent and nothing at all came back: the error line,
    /// exit status 1.
    Silent(String),
}

impl Counts {
    /// The line for the end of a run, and how loud to say it.
    pub fn verdict(&self) -> Verdict {
        let sent = plural(self.sent, "datagram", "datagrams");
        if self.sent > 0 && self.replies == 0 {
            return Verdict::Silent(format!("sent {sent}, no reply"));
        }
        let counts = format!("sent {sent}, {}", plural(self.replies, "reply", "replies"));
        if self.replies < self.sent {
            Verdict::Missing(format!(
                "{counts} ({} unanswered)",
                self.sent - self.replies
            ))
        } else {
            Verdict::Answered(counts)
        }
    }
}

/// `1 datagram`, `2 datagrams`.
fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_millis(1000);

    #[test]
    fn the_window_fills_and_each_reply_lets_one_more_out() {
        let t0 = Instant::now();
        let mut window = Window::new(3, WAIT);
        for _ in 0..3 {
            assert!(window.has_room());
            window.sent(t0);
        }
        assert!(!window.has_room());
        window.answered();
        assert!(window.has_room());
        window.answered();
        window.answered();
        window.answered(); // a reply to nothing frees nothing more
        for _ in 0..3 {
            window.sent(t0);
        }
        assert!(!window.has_room(), "an extra reply did not widen it");
    }

    #[test]
    fn a_datagram_unanswered_for_wait_stops_counting() {
        let t0 = Instant::now();
        let mut window = Window::new(2, WAIT);
        window.sent(t0);
        window.sent(t0 + Duration::from_millis(400));
        assert_eq!(window.next_expiry(), Some(t0 + WAIT));
        assert_eq!(window.expire(t0 + Duration::from_millis(999)), 0);
        assert!(!window.has_room());
        assert_eq!(window.expire(t0 + WAIT), 1);
        assert!(window.has_room());
        assert_eq!(window.next_expiry(), Some(t0 + Duration::from_millis(1400)));
        assert_eq!(window.expire(t0 + Duration::from_secs(5)), 1);
        assert_eq!(window.next_expiry(), None);
    }

    #[test]
    fn a_window_of_zero_is_a_window_of_one() {
        let mut window = Window::new(0, WAIT);
        assert!(window.has_room());
        window.sent(Instant::now());
        assert!(!window.has_room());
    }

    #[test]
    fn the_verdict_is_loud_only_when_something_is_missing() {
        let counts = |sent, replies| Counts { sent, replies }.verdict();
        assert_eq!(
            counts(5000, 5000),
            Verdict::Answered("sent 5000 datagrams, 5000 replies".into())
        );
        assert_eq!(
            counts(1, 1),
            Verdict::Answered("sent 1 datagram, 1 reply".into())
        );
        assert_eq!(
            counts(0, 0),
            Verdict::Answered("sent 0 datagrams, 0 replies".into())
        );
        assert_eq!(
            counts(5000, 4598),
            Verdict::Missing("sent 5000 datagrams, 4598 replies (402 unanswered)".into())
        );
        assert_eq!(
            counts(3, 0),
            Verdict::Silent("sent 3 datagrams, no reply".into())
        );
        assert_eq!(
            counts(2, 7),
            Verdict::Answered("sent 2 datagrams, 7 replies".into()),
            "a server may answer more than once"
        );
    }
}
