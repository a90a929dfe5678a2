//! The close sequence every connection follows, in one place: the
//! protocol asks ([`Io::close`], [`Io::shutdown_write`]), the queue drains
//! ([`Io::output_drained`]), our write half is shut and the connection
//! lingers ([`Io::discard_input`]), and finally it leaves the table
//! ([`Io::remove`], the one place a connection is deregistered).
//!
//! See the state diagram in `conn.rs` and `docs/03-connections-as-state-machines.md`.

use std::io::{self, Read};
use std::net::Shutdown;

use log::debug;

use super::conn::{CloseReason, Connection, State};
use super::io::Io;
use super::token::ConnId;

impl<T> Io<T> {
    /// Closes `id` once its queued output is sent. Input that arrives
    /// meanwhile is read and discarded; the protocol sees no more of it.
    pub fn close(&mut self, id: ConnId, reason: CloseReason) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        match conn.state {
            State::Closing | State::Lingering => {}
            State::Connecting => self.remove(id, reason),
            State::Open | State::Paused | State::SendingFin | State::FinSent => {
                if !reason.flushes() {
                    return self.remove(id, reason);
                }
                conn.begin_closing(id, reason);
                if conn.output.is_empty() {
                    self.output_drained(id);
                } else {
                    self.ensure_timer(id);
                }
            }
        }
    }

    /// Ends our side of the stream once queued output is sent (a TCP
    /// half-close): the peer reads end-of-file, and can still answer.
    pub fn shutdown_write(&mut self, id: ConnId) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        if let State::Open | State::Paused = conn.state {
            conn.set_state(id, State::SendingFin);
            if conn.output.is_empty() {
                self.output_drained(id);
            }
        }
    }

    /// Removes a connection at once, without flushing: deregisters it,
    /// frees its slot and timer, and notes it for the protocol's
    /// `on_closed`. The one place a connection leaves the loop. A
    /// connection that was already closing keeps the reason it was closing
    /// for; `reason` is used otherwise.
    pub(crate) fn remove(&mut self, id: ConnId, reason: CloseReason) {
        let Some(mut conn) = self.take(id) else {
            return;
        };
        let reason = conn.close_reason.take().unwrap_or(reason);
        debug!(
            "conn={id} peer={} closed: {reason} (state {})",
            conn.peer, conn.state
        );
        self.closed.push((id, reason));
    }

    /// Takes a connection out of the table and the poll set, with its timer.
    fn take(&mut self, id: ConnId) -> Option<Connection> {
        let mut conn = self.conns.remove(id)?;
        self.ids.give_back(id);
        // Deregistering can only fail if the socket was never registered;
        // dropping the socket closes it either way.
        let _ = self.registry.deregister(&mut conn.stream);
        if let Some(timer) = conn.timer {
            self.timers.cancel(timer);
        }
        self.stats.open -= 1;
        Some(conn)
    }

    /// The queue just became empty: finish a half-close or a close.
    pub(crate) fn output_drained(&mut self, id: ConnId) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        match conn.state {
            State::SendingFin => {
                let _ = conn.stream.shutdown(Shutdown::Write);
                conn.set_state(id, State::FinSent);
            }
            // The peer finished first; nothing left to wait for.
            State::Closing if matches!(conn.close_reason, Some(CloseReason::PeerClosed)) => {
                self.remove(id, CloseReason::PeerClosed)
            }
            State::Closing => {
                let _ = conn.stream.shutdown(Shutdown::Write);
                conn.set_state(id, State::Lingering);
                conn.last_activity = self.now;
                self.ensure_timer(id);
                // The peer may have closed already; that edge is past.
                self.discard_input(id);
            }
            State::Connecting | State::Open | State::Paused | State::FinSent | State::Lingering => {
            }
        }
    }

    /// Reads and drops input of a closing connection, until it would
    /// block; end-of-file or an error ends the connection.
    pub(crate) fn discard_input(&mut self, id: ConnId) {
        if self.scratch.is_empty() {
            // Called from inside a protocol callback, while the loop has
            // lent the scratch buffer out: do it next turn instead.
            self.revisit(id);
            return;
        }
        loop {
            let Some(conn) = self.conns.get_mut(id) else {
                return;
            };
            match conn.stream.read(&mut self.scratch) {
                Ok(0) => {
                    // The peer is done too. Once nothing is left to flush
                    // (a lingering connection never has any), it is over;
                    // otherwise it stays `Closing` until the queue drains.
                    if conn.output.is_empty() {
                        self.remove(id, CloseReason::PeerClosed);
                    }
                    return;
                }
                Ok(n) => {
                    self.stats.bytes_in += n as u64;
                    self.stats.discarded += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.remove(id, CloseReason::Error(e)),
            }
        }
    }
}
