//! What a connection's readiness event does, the heart of
//! [`Reactor::dispatch`]'s fallback arm: finish a connect, flush queued
//! output if writable, read if readable, and hand what was read to
//! [`Protocol::on_input`]; then, under `--trace`, say what happened.

use log::{debug, trace};
use mio::event::Event;

use super::conn::{interest_name, CloseReason, State};
use super::io::SCRATCH_SIZE;
use super::token::{ConnId, ShowToken};
use super::{Overflow, Protocol, Reactor, NARRATION, READ_BUDGET};

impl<P: Protocol> Reactor<P> {
    /// A connection is readable and/or writable.
    pub(super) fn connection_event(&mut self, id: ConnId, event: &Event) {
        let Some(conn) = self.io.conns.get(id) else {
            // A stale event for a connection closed earlier in this batch.
            return;
        };
        let (bytes_in, bytes_out) = (self.io.stats.bytes_in, self.io.stats.bytes_out);
        if matches!(conn.state, State::Connecting) {
            self.finish_connect(id);
        }
        if event.is_writable() {
            self.io.flush(id);
            self.reap();
        }
        if event.is_readable() || event.is_read_closed() || event.is_error() {
            self.read(id, event.is_read_closed() || event.is_error());
        }
        if self.io.config.trace {
            let what = match (event.is_readable(), event.is_writable()) {
                (true, true) => "readable+writable",
                (false, true) => "writable",
                _ => "readable",
            };
            self.narrate(id, what, bytes_in, bytes_out);
        }
        self.reap();
    }

    /// `--trace`: one line per connection event, in the format
    /// `docs/reference.md` shows under "Learning mode". A connection is
    /// named by its slot (`conn 4`) and by the token its events carry
    /// (`token 0x1_0000_0004`: generation 1, slot 4).
    pub(super) fn narrate(&self, id: ConnId, what: &str, bytes_in: u64, bytes_out: u64) {
        let read = self.io.stats.bytes_in - bytes_in;
        let wrote = self.io.stats.bytes_out - bytes_out;
        let token = ShowToken(id.token());
        match self.io.conns.get(id) {
            Some(conn) => trace!(
                target: NARRATION,
                " conn {id} (token {token}) {what} -> read {read} B, wrote {wrote} B, queued {} B -> interest {} ({})",
                conn.output.len(),
                interest_name(conn.interest),
                conn.state
            ),
            None => trace!(
                target: NARRATION,
                " conn {id} (token {token}) {what} -> read {read} B, wrote {wrote} B -> closed"
            ),
        }
    }

    /// An outgoing connect reported writable: did it work?
    fn finish_connect(&mut self, id: ConnId) {
        let Some(conn) = self.io.conns.get_mut(id) else {
            return;
        };
        // `take_error` reports a failed connect; `peer_addr` tells a
        // completed one from one still in progress (a spurious wake-up).
        match conn.stream.take_error() {
            Ok(Some(e)) | Err(e) => return self.io.remove(id, CloseReason::ConnectFailed(e)),
            Ok(None) => {}
        }
        match conn.stream.peer_addr() {
            Ok(_) => {
                conn.set_state(id, State::Open);
                debug!("conn={id} connected to {}", conn.peer);
                self.io.sync_interest(id);
                self.protocol.on_open(&mut self.io, id);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotConnected => {}
            Err(e) => self.io.remove(id, CloseReason::ConnectFailed(e)),
        }
    }

    /// Reads a connection until `WouldBlock`, its read budget, or a reason
    /// to stop, handing each read to the protocol.
    ///
    /// `must_drain` is set when the event says the peer hung up or failed
    /// (and for revisits). Otherwise a read that did not fill the buffer is
    /// taken to mean "drained": the kernel returned all it had, and any
    /// byte that arrives later raises a new edge. That skips the read that
    /// would only have returned `WouldBlock`: one system call per message.
    pub(super) fn read(&mut self, id: ConnId, must_drain: bool) {
        for _ in 0..READ_BUDGET {
            // Fields of `io`, not a method: the connection and the scratch
            // buffer are borrowed side by side.
            let Some(conn) = self.io.conns.get_mut(id) else {
                return;
            };
            match conn.state {
                State::Connecting | State::Paused => return,
                State::Open | State::SendingFin | State::FinSent => {}
                State::Closing | State::Lingering => return self.io.discard_input(id),
            }
            if self.io.overflow == Overflow::PauseReading
                && conn.output.footprint() >= self.io.config.max_outbuf
            {
                conn.set_state(id, State::Paused);
                debug!("conn={id} paused: {} B queued", conn.output.len());
                return;
            }
            if conn.input_held {
                // Input the protocol held back last turn comes first, and
                // counts as one read of the budget.
                conn.input_held = false;
                self.deliver(id, 0);
                if self.io.input_held(id) {
                    return;
                }
                continue;
            }
            match std::io::Read::read(&mut conn.stream, &mut self.io.scratch) {
                Ok(0) => {
                    self.protocol.on_peer_closed(&mut self.io, id);
                    return;
                }
                Ok(n) => {
                    conn.last_activity = self.io.now;
                    self.io.stats.bytes_in += n as u64;
                    self.deliver(id, n);
                    if (n < SCRATCH_SIZE && !must_drain) || self.io.input_held(id) {
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return self.io.remove(id, CloseReason::Error(e)),
            }
        }
        // Budget spent with input perhaps left: no new edge will say so.
        self.io.revisit(id);
    }

    /// Hands `n` fresh bytes in the scratch buffer to the protocol, behind
    /// any input it left unconsumed last time.
    fn deliver(&mut self, id: ConnId, n: usize) {
        // Lend the scratch buffer out so the protocol can have `&mut Io`.
        let scratch = std::mem::take(&mut self.io.scratch);
        let fresh = &scratch[..n];
        let mut pending = match self.io.conns.get_mut(id) {
            Some(conn) => std::mem::take(&mut conn.pending_input),
            None => Vec::new(),
        };
        let leftover: &[u8] = if pending.is_empty() {
            let used = self.protocol.on_input(&mut self.io, id, fresh);
            &fresh[used.min(n)..]
        } else {
            pending.extend_from_slice(fresh);
            let used = self.protocol.on_input(&mut self.io, id, &pending);
            pending.drain(..used.min(pending.len()));
            &pending
        };
        if !leftover.is_empty() {
            let leftover = leftover.to_vec();
            if leftover.len() > self.io.config.max_input {
                self.io.remove(id, CloseReason::InputTooLarge);
            } else if let Some(conn) = self.io.conns.get_mut(id) {
                conn.pending_input = leftover;
            }
        }
        self.io.scratch = scratch;
    }
}
