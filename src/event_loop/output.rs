//! Output: how a protocol's bytes reach the socket. Written at once when
//! nothing waits ([`Io::send`]), or queued to go out together at the end of
//! the turn ([`Io::send_shared`], [`Io::queue`]); flushed when writable;
//! bounded by `--max-outbuf`, with the protocol's answer to a peer that
//! does not read ([`Overflow`]). The interest a connection is registered
//! with follows from here: writable only while output waits.

use std::io::{self, Write};
use std::rc::Rc;

use log::{trace, warn};

use super::conn::{interest_name, CloseReason, State};
use super::io::Io;
use super::outqueue::Chunk;
use super::token::ConnId;
use super::Overflow;

impl<T> Io<T> {
    /// Sends `bytes` now if nothing else is queued (no copy, one `write`),
    /// and queues whatever the kernel did not take. This is the path for a
    /// connection's own replies: echo's bytes, HTTP's batch of responses.
    pub fn send(&mut self, id: ConnId, bytes: &[u8]) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        if !accepts_output(conn.state) {
            return;
        }
        let mut written = 0;
        if bytes.is_empty() {
            return;
        }
        if conn.output.is_empty() && !matches!(conn.state, State::Connecting) {
            written = loop {
                match conn.stream.write(bytes) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break 0,
                    Err(e) => return self.remove(id, CloseReason::Error(e)),
                }
            };
            self.stats.bytes_out += written as u64;
            if written > 0 {
                conn.last_activity = self.now;
            }
        }
        if written < bytes.len() {
            if let Some(conn) = self.conns.get_mut(id) {
                conn.output.push_copy(&bytes[written..]);
            }
            self.after_queueing(id);
        }
    }

    /// Queues one shared copy of a message, to go out with everything else
    /// queued for `id` this turn in one vectored write at the end of the
    /// turn. This is the fan-out path: a chat line to a whole room.
    pub fn send_shared(&mut self, id: ConnId, message: Rc<[u8]>) {
        self.queue_chunk(id, Chunk::Shared(message));
    }

    /// Queues a copy of `bytes` to go out at the end of the turn, in order
    /// with [`send_shared`](Io::send_shared) messages.
    pub fn queue(&mut self, id: ConnId, bytes: &[u8]) {
        self.queue_chunk(id, Chunk::Owned(bytes.to_vec()));
    }

    fn queue_chunk(&mut self, id: ConnId, chunk: Chunk) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        if !accepts_output(conn.state) {
            return;
        }
        let was_empty = conn.output.is_empty();
        conn.output.push(chunk);
        // A connection whose queue was already non-empty is either on the
        // flush list from earlier this turn or waiting for writability; in
        // both cases its new bytes go out with the old ones.
        if was_empty {
            self.to_flush.push(id);
        }
        self.check_overflow(id);
    }

    /// After bytes were queued: make sure writability is watched, and apply
    /// the slow-consumer rule.
    fn after_queueing(&mut self, id: ConnId) {
        self.sync_interest(id);
        self.check_overflow(id);
    }

    /// A protocol that disconnects slow consumers (chat) gets them closed
    /// here; one that pauses (echo, HTTP) gets its reads paused by the loop.
    ///
    /// Output queued during a turn is normally written at the end of the
    /// turn, so a queue can pass the limit within one turn without its peer
    /// being slow at all: one read of a busy sender can fan out a megabyte
    /// of lines. So before a connection is judged, its queue is offered to
    /// the kernel once; only what a peer does not take counts against it.
    fn check_overflow(&mut self, id: ConnId) {
        if self.overflow != Overflow::Disconnect || !self.over_limit(id) {
            return;
        }
        self.flush(id);
        let Some(conn) = self.conns.get(id) else {
            return;
        };
        if conn.output.footprint() > self.config.max_outbuf {
            warn!(
                "conn={id} peer={} disconnected: {} B queued ({} B held), over --max-outbuf {}",
                conn.peer,
                conn.output.len(),
                conn.output.footprint(),
                self.config.max_outbuf
            );
            self.remove(id, CloseReason::SlowConsumer);
        }
    }

    /// Whether `id`'s queue holds more than `--max-outbuf`.
    fn over_limit(&self, id: ConnId) -> bool {
        self.conns
            .get(id)
            .is_some_and(|conn| conn.output.footprint() > self.config.max_outbuf)
    }

    /// Registers the interest the connection's state calls for, if it
    /// changed. The one place interest is decided.
    pub(crate) fn sync_interest(&mut self, id: ConnId) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        let wanted = conn.wanted_interest();
        if wanted == conn.interest {
            return;
        }
        match self
            .registry
            .reregister(&mut conn.stream, id.token(), wanted)
        {
            Ok(()) => {
                conn.interest = wanted;
                if self.config.trace {
                    trace!(
                        target: super::NARRATION,
                        "  conn {id} interest -> {}",
                        interest_name(wanted)
                    );
                }
            }
            Err(e) => self.remove(id, CloseReason::Error(e)),
        }
    }

    /// Writes queued output until the queue is empty or the kernel's send
    /// buffer is full, then moves the state machine on. Small chunks are
    /// gathered into the scratch buffer first when the loop is not lending
    /// it out ([`OutQueue::write_gathered`](super::OutQueue::write_gathered)).
    pub(crate) fn flush(&mut self, id: ConnId) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        if matches!(conn.state, State::Connecting) {
            return;
        }
        let queued_before = conn.output.len();
        while !conn.output.is_empty() {
            match conn
                .output
                .write_gathered(&mut conn.stream, &mut self.scratch)
            {
                Ok((0, _)) => {
                    let e = io::Error::from(io::ErrorKind::WriteZero);
                    return self.remove(id, CloseReason::Error(e));
                }
                Ok((written, offered)) => {
                    self.stats.bytes_out += written as u64;
                    conn.last_activity = self.now;
                    // A short write means the send buffer is full: another
                    // attempt now would only return WouldBlock. Wait for the
                    // writable edge instead (one system call saved).
                    if written < offered {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.remove(id, CloseReason::Error(e)),
            }
        }
        let low_water = self.config.max_outbuf / 2;
        let drained = conn.output.is_empty();
        let wrote_something = conn.output.len() < queued_before;
        if conn.state == State::Paused && conn.output.footprint() <= low_water {
            // Reading resumes; the peer may have data waiting that no new
            // edge will announce, so look at it next turn.
            conn.set_state(id, State::Open);
            self.revisit(id);
        }
        if drained && wrote_something {
            self.drained.push(id);
        }
        if drained {
            self.output_drained(id);
        }
        self.sync_interest(id);
    }
}

/// Whether output may still be queued for a connection in `state`.
fn accepts_output(state: State) -> bool {
    match state {
        State::Connecting | State::Open | State::Paused | State::Closing => true,
        State::SendingFin | State::FinSent | State::Lingering => false,
    }
}
