//! Sources a protocol owns, beside the connections the loop owns: a UDP
//! socket, stdin. The loop polls them like everything else, under a token
//! of their own ([`source_token`](super::source_token)), and hands their
//! readiness to [`Protocol::on_source`](super::Protocol::on_source); what to
//! read or write is the protocol's business.
//!
//! The types a protocol needs for that are re-exported here, so nothing
//! outside the loop's module names `mio`: the loop is the one layer that
//! speaks to the operating system's readiness API.

use std::io;

use mio::event::Event;
use mio::{Interest, Token};

use super::Io;

/// Anything `poll` can watch.
pub use mio::event::Source;
/// A non-blocking UDP socket.
pub use mio::net::UdpSocket;
/// The reading end of a pipe (or a terminal), non-blocking.
pub use mio::unix::pipe::Receiver as PipeReceiver;

/// What a protocol-owned source is ready for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    /// Readable, or at end of input, or failed: a read will not block.
    pub readable: bool,
    /// Writable: a write will not block.
    pub writable: bool,
}

impl Readiness {
    /// Ready to read (also what a revisit reports).
    pub const READABLE: Readiness = Readiness {
        readable: true,
        writable: false,
    };

    pub(crate) fn of(event: &Event) -> Readiness {
        Readiness {
            readable: event.is_readable() || event.is_read_closed() || event.is_error(),
            writable: event.is_writable() || event.is_write_closed(),
        }
    }
}

/// The interest a protocol-owned source is registered with, kept so it is
/// re-registered only when it changes: always readable, writable only
/// while the protocol has output waiting for it. The same rule as
/// `Connection::wanted_interest`, for sources the loop does not own.
#[derive(Debug)]
pub struct SourceInterest {
    token: Token,
    writable: bool,
}

impl SourceInterest {
    /// Registers `source` as protocol source number `n`, readable only.
    pub fn register<T, S: Source + ?Sized>(
        io: &Io<T>,
        source: &mut S,
        n: usize,
    ) -> io::Result<SourceInterest> {
        let token = super::source_token(n);
        io.registry.register(source, token, Interest::READABLE)?;
        Ok(SourceInterest {
            token,
            writable: false,
        })
    }

    /// Adds or drops writable interest; no system call when nothing changes.
    pub fn want_writable<T, S: Source + ?Sized>(
        &mut self,
        io: &Io<T>,
        source: &mut S,
        want: bool,
    ) -> io::Result<()> {
        if want == self.writable {
            return Ok(());
        }
        let interest = if want {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        io.registry.reregister(source, self.token, interest)?;
        self.writable = want;
        Ok(())
    }

    /// Stops watching `source` (before it is closed, or at shutdown).
    pub fn deregister<T, S: Source + ?Sized>(&self, io: &Io<T>, source: &mut S) {
        // Fails only for a source that was never registered.
        let _ = io.registry.deregister(source);
    }
}
