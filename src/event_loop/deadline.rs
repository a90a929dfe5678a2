//! A connection's one timer, and what it stands for in each state:
//!
//! | state | the connection is given up when |
//! |---|---|
//! | `Connecting`, `Open`, `Paused`, `SendingFin`, `FinSent` | no byte moved either way for `--idle-timeout` (then the protocol's `on_idle`) |
//! | `Closing` | its queued output has not moved for [`LINGER`]: the peer does not read |
//! | `Lingering` | [`LINGER`] passed since our write half was shut |
//!
//! "No byte moved either way", not "no input": a chat member that only
//! listens is not idle, and a peer that stopped reading what we send *is*
//! stuck even while it keeps sending.
//!
//! The timer is re-armed lazily, as Redis's and nginx's are: reads and
//! writes only note the time (`last_activity`), and when the timer fires
//! the deadline is computed again from the state; if it moved, the timer
//! is set for the new one. So a busy connection costs no timer operation
//! per read.

use std::time::Instant;

use log::debug;

use super::conn::{CloseReason, Connection, State};
use super::io::{Io, TimerKind, LINGER};
use super::token::ConnId;
use super::{Config, Protocol, Reactor};

impl Connection {
    /// When this connection is given up, in its current state (`None`:
    /// never).
    pub(crate) fn deadline(&self, config: &Config) -> Option<Instant> {
        match self.state {
            State::Connecting
            | State::Open
            | State::Paused
            | State::SendingFin
            | State::FinSent => config.idle_timeout.map(|idle| self.last_activity + idle),
            State::Closing | State::Lingering => Some(self.last_activity + LINGER),
        }
    }
}

impl<T> Io<T> {
    /// Makes sure `id`'s timer fires no later than its deadline: arms one
    /// if none is armed, or an earlier one if the armed one is too late.
    pub(crate) fn ensure_timer(&mut self, id: ConnId) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        let Some(deadline) = conn.deadline(&self.config) else {
            return;
        };
        if let Some(armed) = conn.timer {
            if armed.deadline() <= deadline {
                return; // it fires first, and re-arms then
            }
            self.timers.cancel(armed);
        }
        conn.timer = Some(self.timers.add(deadline, TimerKind::Conn(id)));
    }
}

impl<P: Protocol> Reactor<P> {
    /// A connection's timer fired: give it up if its deadline has passed,
    /// or set the timer again for the deadline it has now.
    pub(super) fn connection_timer(&mut self, id: ConnId) {
        let now = self.io.now;
        let Some(conn) = self.io.conns.get_mut(id) else {
            return;
        };
        conn.timer = None;
        let Some(deadline) = conn.deadline(&self.io.config) else {
            return;
        };
        if now < deadline {
            return self.io.ensure_timer(id);
        }
        match conn.state {
            // A close we started is taking too long: the peer neither reads
            // what is queued nor closes. Give up on it.
            State::Closing | State::Lingering => self.io.remove(id, CloseReason::IdleTimeout),
            State::Connecting
            | State::Open
            | State::Paused
            | State::SendingFin
            | State::FinSent => {
                debug!(
                    "conn={id} peer={} idle: no byte either way for {:.1} s",
                    conn.peer,
                    (now - conn.last_activity).as_secs_f64()
                );
                self.protocol.on_idle(&mut self.io, id);
                // Closing now (the protocol's answer), perhaps with output
                // the peer will never read: bound how long that may take.
                self.io.ensure_timer(id);
            }
        }
    }
}
