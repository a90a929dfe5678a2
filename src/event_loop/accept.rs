//! Listening and accepting: the listeners' readable events, `--max-conns`,
//! and running out of file descriptors without spinning.
//!
//! A loop may listen on several sockets (chat's TCP port and its web
//! port). They are numbered from 0 in the order they were added, each has
//! its own token ([`listener_token`](super::token::listener_token)), and
//! every connection remembers which one accepted it
//! ([`Io::origin`](super::Io::origin)), so one protocol can speak a
//! different language on each.

use std::net::SocketAddr;
use std::time::Duration;

use log::{debug, info, trace, warn};
use mio::net::{TcpListener, TcpStream};
use mio::Interest;
use socket2::{Domain, Protocol as IpProtocol, Socket, Type};

use super::conn::Origin;
use super::io::TimerKind;
use super::token::{listener_token, ShowToken, MAX_LISTENERS};
use super::{Protocol, Reactor, State, NARRATION};

/// How long accepting pauses after `EMFILE`/`ENFILE` before it is tried
/// again. Not retrying at once is the point: the listener stays readable
/// while the backlog is full, so an immediate retry would spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Connections the kernel completes and holds until the loop accepts
/// them. std's and mio's 128 overflows when a burst arrives while the loop
/// is busy (a thousand chat members joining at once: each welcome is news
/// for the whole room), and a handshake the kernel drops then costs the
/// client seconds of retries; where the server speaks first (chat), the
/// client may even believe itself connected and wait for a welcome that
/// never comes. 1024 for every listener, `--workers` ones too (Redis and
/// nginx use 511); Linux caps it at `net.core.somaxconn`.
pub const LISTEN_BACKLOG: i32 = 1024;

/// Connections one listener accepts in one turn. The rest of a burst
/// waits in the kernel's backlog for the next turn, after this turn's
/// output is flushed: where every arrival is news for everyone (a chat
/// member joining a room of a thousand), accepting a whole burst at once
/// would queue a thousand notices for each member before any went out,
/// hundreds of megabytes at the peak that the allocator keeps afterwards.
/// Sixty-four bounds that, costs a burst one extra turn per sixty-four
/// connections, and keeps the loop serving the connections it has while
/// the burst comes in (the accepting counterpart of the read budget).
pub(super) const ACCEPT_BUDGET: usize = 64;

/// `EMFILE` and `ENFILE`: out of descriptors for this process / the system.
/// The same numbers on Linux, the BSDs and macOS.
const EMFILE: i32 = 24;
const ENFILE: i32 = 23;

/// Whether the listeners are taking new connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Accepting {
    /// Yes.
    Open,
    /// Out of descriptors: waiting for the retry timer. The shortage is
    /// the process's, so every listener waits.
    Paused,
    /// Shut for good (graceful shutdown).
    Closed,
}

/// The listening sockets of one loop.
#[derive(Debug)]
pub(super) struct Listeners {
    /// By number (the order they were added).
    sockets: Vec<TcpListener>,
    pub(super) state: Accepting,
    /// Listeners that stopped at [`ACCEPT_BUDGET`] with connections maybe
    /// still waiting: edge-triggered `poll` will not report them again,
    /// so the next turn accepts from them without waiting for an event.
    pub(super) still_ready: Vec<usize>,
}

impl Default for Listeners {
    fn default() -> Self {
        Listeners {
            sockets: Vec::new(),
            state: Accepting::Open,
            still_ready: Vec::new(),
        }
    }
}

/// A listening TCP socket on `addr` with a backlog of 1024 (`LISTEN_BACKLOG`);
/// with `reuse_port`, one that other sockets may share (`SO_REUSEPORT`:
/// the kernel spreads connections over them, one loop each).
pub fn bind_listener(addr: SocketAddr, reuse_port: bool) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM,
        Some(IpProtocol::TCP),
    )?;
    // As std and mio do: a restarted server can bind its port at once.
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

impl<P: Protocol> Reactor<P> {
    /// Binds a listening TCP socket; returns the address it got (the real
    /// port when `addr` asked for port 0). Connections it accepts have the
    /// origin [`Origin::Listener`] with its number: 0 for the first.
    pub fn listen(&mut self, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        self.listen_on(bind_listener(addr, false)?)
    }

    /// Listens on a socket made elsewhere (bound with options `std` does
    /// not offer, such as `SO_REUSEPORT`); it is made non-blocking here.
    pub fn listen_on(&mut self, listener: std::net::TcpListener) -> std::io::Result<SocketAddr> {
        listener.set_nonblocking(true)?;
        self.add_listener(TcpListener::from_std(listener))
    }

    fn add_listener(&mut self, mut listener: TcpListener) -> std::io::Result<SocketAddr> {
        let n = self.listeners.sockets.len();
        if n == MAX_LISTENERS {
            return Err(std::io::Error::other(format!(
                "at most {MAX_LISTENERS} listeners per loop"
            )));
        }
        let token = listener_token(n);
        self.poll
            .registry()
            .register(&mut listener, token, Interest::READABLE)?;
        let local = listener.local_addr()?;
        self.listeners.sockets.push(listener);
        Ok(local)
    }

    /// Stops listening for good: the sockets close (new connections are
    /// refused by the kernel from here on).
    pub(super) fn close_listeners(&mut self) {
        for mut listener in self.listeners.sockets.drain(..) {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        self.listeners.state = Accepting::Closed;
    }

    /// The retry timer after a shortage of descriptors: try again.
    pub(super) fn resume_accepting(&mut self) {
        if self.listeners.state != Accepting::Paused {
            return;
        }
        self.listeners.state = Accepting::Open;
        for n in 0..self.listeners.sockets.len() {
            self.accept(n);
        }
    }

    /// Accepts on listener `n` until its backlog is empty or this turn's
    /// [`ACCEPT_BUDGET`] is spent; then it is put on the list for next
    /// turn.
    pub(super) fn accept(&mut self, n: usize) {
        for _ in 0..ACCEPT_BUDGET {
            if self.listeners.state != Accepting::Open {
                return;
            }
            let Some(listener) = self.listeners.sockets.get(n) else {
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
                    self.admit(stream, peer, n)
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if matches!(e.raw_os_error(), Some(EMFILE) | Some(ENFILE)) => {
                    return self.pause_accepting(&e)
                }
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionAborted => {}
                Err(e) => {
                    warn!("accept failed: {e}");
                    return;
                }
            }
        }
        if !self.listeners.still_ready.contains(&n) {
            self.listeners.still_ready.push(n);
        }
    }

    /// Accepts again from the listeners that stopped at their budget last
    /// turn, unless an event this turn already did.
    pub(super) fn revisit_listeners(&mut self, listeners: Vec<usize>) {
        for n in listeners {
            if !self.listeners.still_ready.contains(&n) {
                self.accept(n);
            }
        }
    }

    /// Out of descriptors: keep serving, and try again after a pause
    /// instead of spinning on a listener that stays readable.
    fn pause_accepting(&mut self, e: &std::io::Error) {
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
        self.listeners.state = Accepting::Paused;
        self.io
            .timers
            .add(self.io.now + ACCEPT_RETRY, TimerKind::ResumeAccept);
    }

    /// Takes in one connection accepted by listener `n`, or refuses it over
    /// `--max-conns`.
    fn admit(&mut self, mut stream: TcpStream, peer: SocketAddr, n: usize) {
        self.io.stats.accepted += 1;
        if self.io.conns.len() >= self.io.config.max_conns {
            return self.refuse(&mut stream, peer, Origin::Listener(n));
        }
        // Small replies go out at once instead of waiting on Nagle's
        // algorithm for the peer's ACK.
        let _ = stream.set_nodelay(true);
        match self
            .io
            .insert(stream, peer, State::Open, Origin::Listener(n))
        {
            Ok(id) => {
                debug!("conn={id} peer={peer} opened");
                trace!(
                    target: NARRATION,
                    " listener {n} (token {}) readable -> accepted {peer} as conn {id} (token {})",
                    ShowToken(listener_token(n)),
                    ShowToken(id.token())
                );
                self.protocol.on_open(&mut self.io, id);
                self.reap();
            }
            Err(e) => warn!("cannot register connection from {peer}: {e}"),
        }
    }

    /// Over `--max-conns`: the protocol's refusal, one try, and close.
    fn refuse(&mut self, stream: &mut TcpStream, peer: SocketAddr, origin: Origin) {
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
        let _ = std::io::Write::write(stream, self.protocol.refusal(origin));
    }
}
