//! Which timeout bounds a connection, from when, and what its end does:
//! pure functions of the connection's [`ConnState`] and instants passed
//! in, so their tests make time up instead of waiting for it.
//!
//! Each state waits for the client, and each wait has its bound:
//!
//! | state            | waiting for                  | bound                         | runs from                  | at the end       |
//! |------------------|------------------------------|-------------------------------|----------------------------|------------------|
//! | `ReadingHead`    | the end of a request head    | `--header-timeout`            | accept, or the first byte of a later request (an empty line counts) | `408`, close |
//! | `Idle`           | the first byte of a request  | `--keepalive-timeout`         | the answer to the last one | close, no answer |
//! | `DiscardingBody` | the next byte of a body      | `--header-timeout`            | the last body byte         | `408`, close     |
//! | `Closing`        | nothing                      | none                          |                            |                  |
//!
//! A head's bound does not move while it trickles in (a client sending a
//! byte a second gets no more time than one sending nothing); a body's
//! moves with every byte, since a large body may rightly take long, but
//! never with none.
//!
//! These are nginx's `client_header_timeout`, `keepalive_timeout` and
//! `client_body_timeout`. The simpler rule "the header timeout runs from
//! the end of each answer until the next head is complete" would make a
//! keep-alive timeout longer than the header timeout unreachable: every
//! idle connection would get a `408` at 10 s and never wait 75 s. So the
//! header timeout runs from the first byte of a request (from the accept
//! for the first one), and the time before that byte is keep-alive.

use std::time::{Duration, Instant};

use super::exchange::ConnState;

/// The two bounds, each `None` for "never".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// `--header-timeout`: for a head to end, and for a body to progress.
    pub header: Option<Duration>,
    /// `--keepalive-timeout`: for the next request to begin.
    pub keepalive: Option<Duration>,
}

/// What a connection's deadline passing does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Answer `408 Request Timeout` and close; the reason is for the log.
    RequestTimeout(&'static str),
    /// Close without an answer: no request is in progress to answer.
    CloseQuietly,
    /// Nothing: the connection is closing already.
    Nothing,
}

impl Timeouts {
    /// The deadline of a connection accepted at `now`: its first head is
    /// due within the header timeout.
    pub fn on_open(&self, now: Instant) -> Option<Instant> {
        self.header.map(|after| now + after)
    }

    /// The deadline after one batch of input, read at `now`, moved a
    /// connection from `before` to `after` and answered `answered`
    /// requests; `current` is the deadline it had.
    pub fn after_input(
        &self,
        current: Option<Instant>,
        before: ConnState,
        after: ConnState,
        answered: u64,
        now: Instant,
    ) -> Option<Instant> {
        match after {
            // The same head as before, still unfinished: its clock runs on.
            ConnState::ReadingHead { .. }
                if answered == 0 && matches!(before, ConnState::ReadingHead { .. }) =>
            {
                current
            }
            // A head that began in this batch, or body bytes that came in it.
            ConnState::ReadingHead { .. } | ConnState::DiscardingBody { .. } => {
                self.header.map(|after| now + after)
            }
            ConnState::Idle => self.keepalive.map(|after| now + after),
            ConnState::Closing => None,
        }
    }
}

/// What the end of the wait `state` is in does.
pub fn expiry(state: ConnState) -> Expiry {
    match state {
        ConnState::ReadingHead { .. } => {
            Expiry::RequestTimeout("request head not complete in time")
        }
        ConnState::DiscardingBody { .. } => Expiry::RequestTimeout("request body stalled"),
        ConnState::Idle => Expiry::CloseQuietly,
        ConnState::Closing => Expiry::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: Duration = Duration::from_secs(10);
    const KEEPALIVE: Duration = Duration::from_secs(75);
    const BOTH: Timeouts = Timeouts {
        header: Some(HEADER),
        keepalive: Some(KEEPALIVE),
    };
    const HEAD: ConnState = ConnState::ReadingHead { scanned: 5 };
    const BODY: ConnState = ConnState::DiscardingBody { left: 7 };

    #[test]
    fn the_first_head_is_due_a_header_timeout_after_the_accept() {
        let accepted = Instant::now();
        assert_eq!(BOTH.on_open(accepted), Some(accepted + HEADER));
        let never = Timeouts {
            header: None,
            ..BOTH
        };
        assert_eq!(never.on_open(accepted), None);
    }

    #[test]
    fn a_trickling_head_keeps_its_deadline() {
        let (start, now) = (Instant::now(), Instant::now() + HEADER / 2);
        let due = Some(start + HEADER);
        for before in [ConnState::FRESH, HEAD] {
            assert_eq!(BOTH.after_input(due, before, HEAD, 0, now), due);
        }
    }

    #[test]
    fn a_head_begun_in_the_batch_gets_a_fresh_header_timeout() {
        let now = Instant::now() + KEEPALIVE;
        let old = Some(now - Duration::from_secs(1));
        let fresh = Some(now + HEADER);
        // The first byte after an idle spell (an empty line is enough).
        assert_eq!(
            BOTH.after_input(old, ConnState::Idle, ConnState::FRESH, 0, now),
            fresh
        );
        // A request answered, and the next one's head begun behind it.
        assert_eq!(BOTH.after_input(old, HEAD, HEAD, 1, now), fresh);
        // A body read to its end, and a head begun behind it.
        assert_eq!(BOTH.after_input(old, BODY, HEAD, 0, now), fresh);
    }

    #[test]
    fn a_body_gets_a_header_timeout_from_its_last_byte() {
        let now = Instant::now();
        let old = Some(now);
        for before in [HEAD, BODY, ConnState::Idle] {
            assert_eq!(
                BOTH.after_input(old, before, BODY, 1, now),
                Some(now + HEADER)
            );
        }
    }

    #[test]
    fn after_an_answer_the_keepalive_timeout_runs() {
        let now = Instant::now();
        for before in [HEAD, BODY, ConnState::Idle] {
            assert_eq!(
                BOTH.after_input(None, before, ConnState::Idle, 1, now),
                Some(now + KEEPALIVE)
            );
        }
        let forever = Timeouts {
            keepalive: None,
            ..BOTH
        };
        assert_eq!(
            forever.after_input(Some(now), HEAD, ConnState::Idle, 1, now),
            None
        );
    }

    #[test]
    fn a_closing_connection_has_no_deadline_and_each_wait_ends_its_own_way() {
        let now = Instant::now();
        assert_eq!(
            BOTH.after_input(Some(now), HEAD, ConnState::Closing, 1, now),
            None
        );
        assert!(matches!(expiry(HEAD), Expiry::RequestTimeout(_)));
        assert!(matches!(
            expiry(ConnState::FRESH),
            Expiry::RequestTimeout(_)
        ));
        assert!(matches!(expiry(BODY), Expiry::RequestTimeout(_)));
        assert_eq!(expiry(ConnState::Idle), Expiry::CloseQuietly);
        assert_eq!(expiry(ConnState::Closing), Expiry::Nothing);
    }
}
