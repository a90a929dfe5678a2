//! Accepting connections: the listener's readable event, `--max-conns`,
//! and running out of file descriptors without spinning.

use std::net::SocketAddr;
use std::time::Duration;

use log::{debug, info, trace, warn};
use mio::net::TcpStream;

use super::io::TimerKind;
use super::{Acceptor, Protocol, Reactor, State};

/// How long accepting pauses after `EMFILE`/`ENFILE` before it is tried
/// again. Not retrying at once is the point: the listener stays readable
/// while the backlog is full, so an immediate retry would spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// `EMFILE` and `ENFILE`: out of descriptors for this process / the system.
/// The same numbers on Linux, the BSDs and macOS.
const EMFILE: i32 = 24;
const ENFILE: i32 = 23;

impl<P: Protocol> Reactor<P> {
    /// Accepts until the backlog is empty.
    pub(super) fn accept(&mut self) {
        loop {
            let Acceptor::Accepting(listener) = &self.acceptor else {
                return;
            };
            match listener.accept() {
                Ok((stream, peer)) => {
                    if let Some(since) = self.out_of_fds_since.take() {
                        info!(
                            "file descriptors free again after {:.1} s: accepting",
                            (self.io.now - since).as_secs_f64()
                        );
                    }
                    self.admit(stream, peer)
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if matches!(e.raw_os_error(), Some(EMFILE) | Some(ENFILE)) => {
                    // Warn once per shortage, not at every retry.
                    if self.out_of_fds_since.is_none() {
                        warn!(
                            "out of file descriptors ({e}): accepting paused, retried every {} ms, serving the {} open connections",
                            ACCEPT_RETRY.as_millis(),
                            self.io.conns.len()
                        );
                        self.out_of_fds_since = Some(self.io.now);
                    } else {
                        debug!("still out of file descriptors: {e}");
                    }
                    if let Acceptor::Accepting(listener) =
                        std::mem::replace(&mut self.acceptor, Acceptor::Closed)
                    {
                        self.acceptor = Acceptor::Paused(listener);
                    }
                    self.io
                        .timers
                        .add(self.io.now + ACCEPT_RETRY, TimerKind::ResumeAccept);
                    return;
                }
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionAborted => {}
                Err(e) => {
                    warn!("accept failed: {e}");
                    return;
                }
            }
        }
    }

    /// Takes in one accepted connection, or refuses it over `--max-conns`.
    fn admit(&mut self, mut stream: TcpStream, peer: SocketAddr) {
        self.io.stats.accepted += 1;
        if self.io.conns.len() >= self.io.config.max_conns {
            self.io.stats.refused += 1;
            let now = self.io.now;
            let quiet = self
                .last_refusal_warning
                .is_some_and(|at| now - at < Duration::from_secs(1));
            if !quiet {
                warn!(
                    "--max-conns {} reached: refusing {peer} ({} refused so far)",
                    self.io.config.max_conns, self.io.stats.refused
                );
                self.last_refusal_warning = Some(now);
            }
            // One try; a peer whose buffer is full just sees the close.
            let _ = std::io::Write::write(&mut stream, self.protocol.refusal());
            return;
        }
        // Small replies go out at once instead of waiting on Nagle's
        // algorithm for the peer's ACK.
        let _ = stream.set_nodelay(true);
        match self.io.insert(stream, peer, State::Open) {
            Ok(id) => {
                debug!("conn={id} peer={peer} opened");
                if self.io.config.trace {
                    trace!(
                        target: super::NARRATION,
                        " listener readable -> accepted {peer} as conn {id}"
                    );
                }
                self.protocol.on_open(&mut self.io, id);
                self.reap();
            }
            Err(e) => warn!("cannot register connection from {peer}: {e}"),
        }
    }
}
