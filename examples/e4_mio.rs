//! # Step 4: mio, readiness, one token per connection
//!
//! **New in this step:** instead of asking every socket, ask the kernel
//! once which sockets have news. Every socket is *registered* with a
//! `mio::Poll` under a `Token` (a number we choose: 0 for the listener, one
//! never used before for each connection), and `poll.poll` sleeps until
//! at least one of them is ready, then returns the list of *readiness
//! events*, each carrying its token. The loop looks the token up and runs
//! that connection's handler, which does what it can without blocking and
//! returns. (`epoll_wait` on Linux, `kevent` on the BSDs and macOS.)
//!
//! The handler is step 3's, unchanged, and its reading until `WouldBlock`
//! is now required: mio is *edge-triggered*, it reports a socket when it
//! becomes ready, once. A handler that stopped early would leave bytes in
//! the kernel that no event will ever mention again.
//!
//! **What breaks:** every connection is registered for `READABLE` and
//! `WRITABLE` for its whole life, as mio's own `tcp_server` example does.
//! That is simple and correct, but each connection is woken whenever its
//! send buffer drains, even with nothing to send; and on a level-triggered
//! poller (`select`, `poll`, Python's `selectors`) a socket with room in
//! its send buffer is *always* writable, so that loop would never sleep:
//! step 3's burnt core again. Step 5 asks for `WRITABLE` only when it has
//! something to write.
//!
//! **Python:** `sel = selectors.DefaultSelector()`,
//! `sel.register(sock, EVENT_READ, data)`, and
//! `for key, mask in sel.select():` (`examples/python/selectors_echo.py`).
//! A selector key's `data` plays the token's part.
//!
//! Run it: `cargo run --example e4_mio -- [ADDR]` (default
//! `127.0.0.1:7000`). Next: `diff examples/e4_mio.rs examples/e5_write_queue.rs`.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::process::ExitCode;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Registry, Token};

/// Where to listen when no address is given on the command line.
const DEFAULT_ADDR: &str = "127.0.0.1:7000";
/// Bytes asked for per `read`: Python's `recv(4096)`, one memory page.
const READ_SIZE: usize = 4096;
/// The listener's token. Connections are numbered from 1 up.
const LISTENER: Token = Token(0);
/// Events taken from the kernel per `poll`; more ready sockets simply
/// wait for the next turn.
const EVENTS_CAPACITY: usize = 1024;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Binds, prints the readiness line, serves until killed.
fn run() -> io::Result<()> {
    let addr = listen_address()?;
    let listener = std::net::TcpListener::bind(addr)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {addr}: {e}")))?;
    announce(listener.local_addr()?)?;
    serve(listener)
}

/// The address from the command line, or the default.
fn listen_address() -> io::Result<SocketAddr> {
    let text = std::env::args()
        .nth(1)
        .unwrap_or_else(|| DEFAULT_ADDR.to_string());
    text.parse().map_err(|_| {
        let why = format!("{text:?} is not an address (want HOST:PORT, e.g. {DEFAULT_ADDR})");
        io::Error::new(io::ErrorKind::InvalidInput, why)
    })
}

/// The readiness line, the only thing printed on stdout. Flushed, so a
/// script waiting for it sees it at once, with the real port when the
/// address asked for port 0.
fn announce(addr: SocketAddr) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "listening on tcp://{addr}")?;
    stdout.flush()
}

/// One client, and what the server still owes it.
struct Connection {
    /// The client's socket, non-blocking.
    stream: TcpStream,
    /// Who it is, for the log.
    peer: SocketAddr,
    /// Bytes read but not yet written back: the kernel's send buffer was
    /// full when we tried. Until they are written nothing more is read.
    unsent: Vec<u8>,
}

/// What to do with a connection after visiting it.
enum Next {
    /// Keep it: nothing more can be done for it until `poll` says so.
    Wait,
    /// Drop it: the peer closed its side.
    Close,
}

/// Accepts and serves every client on one thread; sleeps only in `poll`.
fn serve(listener: std::net::TcpListener) -> io::Result<()> {
    // From here on no call sleeps: one that would returns `WouldBlock`.
    // (mio takes the socket over as it is, so it must be non-blocking.)
    listener.set_nonblocking(true)?;
    let mut listener = TcpListener::from_std(listener);
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut events = Events::with_capacity(EVENTS_CAPACITY);
    let mut connections: HashMap<Token, Connection> = HashMap::new();
    let mut next_token = LISTENER.0 + 1;
    loop {
        // Sleep until at least one socket has news: no spinning.
        if let Err(e) = poll.poll(&mut events, None) {
            if interrupted(&e) {
                continue;
            }
            return Err(e);
        }
        // Visit only the sockets the kernel named, found by their token.
        for event in events.iter() {
            match event.token() {
                LISTENER => accept_all(
                    &listener,
                    poll.registry(),
                    &mut connections,
                    &mut next_token,
                ),
                token => on_connection_event(poll.registry(), &mut connections, token),
            }
        }
    }
}

/// Runs the handler of the connection `token` names; closes it when done.
fn on_connection_event(
    registry: &Registry,
    connections: &mut HashMap<Token, Connection>,
    token: Token,
) {
    // An event for a token we no longer hold: its connection is closed.
    // Tokens are never reused here, so it cannot reach anyone else.
    let Some(conn) = connections.get_mut(&token) else {
        return;
    };
    match echo(conn) {
        Ok(Next::Wait) => {}
        Ok(Next::Close) => close(registry, connections, token, None),
        Err(e) => close(registry, connections, token, Some(e)),
    }
}

/// The one place a connection ends: the kernel stops watching it, then
/// dropping it closes the socket.
fn close(
    registry: &Registry,
    connections: &mut HashMap<Token, Connection>,
    token: Token,
    error: Option<io::Error>,
) {
    let Some(mut conn) = connections.remove(&token) else {
        return;
    };
    // Failing to deregister is harmless: closing the socket removes it
    // from the kernel's interest list anyway.
    let _ = registry.deregister(&mut conn.stream);
    match error {
        None => eprintln!("{}: closed", conn.peer),
        Some(e) => eprintln!("{}: closed: {e}", conn.peer),
    }
}

/// Accepts every client waiting in the backlog. Registers each with its
/// own token.
fn accept_all(
    listener: &TcpListener,
    registry: &Registry,
    connections: &mut HashMap<Token, Connection>,
    next_token: &mut usize,
) {
    loop {
        let (mut stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            // The backlog is empty (Python: `BlockingIOError`).
            Err(e) if would_block(&e) => return,
            Err(e) if interrupted(&e) => continue,
            // One failed accept is no reason to stop serving. (Out of file
            // descriptors, the client stays in the backlog until the next
            // connection's event makes us try again.)
            Err(e) => {
                eprintln!("accept failed: {e}");
                return;
            }
        };
        // mio's `accept` returns a non-blocking socket. It gets a token
        // never used before; every event for it will carry that token.
        let token = Token(*next_token);
        *next_token += 1;
        // Readable and writable for as long as it lives: simple, and the
        // cost that step 5 removes.
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(e) = registry.register(&mut stream, token, interest) {
            eprintln!("{peer}: closed: {e}");
            continue;
        }
        eprintln!("{peer}: connected");
        connections.insert(
            token,
            Connection {
                stream,
                peer,
                unsent: Vec::new(),
            },
        );
    }
}

/// Does what can be done for one client without waiting: write back what
/// it is owed, then read what has arrived and echo it, until a call says
/// `WouldBlock`. Stopping earlier would strand bytes: the edge that woke
/// us is spent, and no new one comes for bytes already there.
fn echo(conn: &mut Connection) -> io::Result<Next> {
    let mut buf = [0u8; READ_SIZE];
    loop {
        // Bytes still owed come first. Until they are written, read nothing
        // more: the client's bytes wait in the kernel, and once its buffers
        // fill the client's own writes wait (TCP's backpressure).
        flush(conn)?;
        if !conn.unsent.is_empty() {
            return Ok(Next::Wait);
        }
        let n = match conn.stream.read(&mut buf) {
            // The peer closed its side, and it is owed nothing.
            Ok(0) => return Ok(Next::Close),
            Ok(n) => n,
            // All read (Python: `BlockingIOError`): the next edge wakes us.
            Err(e) if would_block(&e) => return Ok(Next::Wait),
            Err(e) if interrupted(&e) => continue,
            Err(e) => return Err(e),
        };
        conn.unsent.extend_from_slice(&buf[..n]);
    }
}

/// Writes as much of what is owed as the kernel takes now; a partial
/// write leaves the rest in `unsent`.
fn flush(conn: &mut Connection) -> io::Result<()> {
    while !conn.unsent.is_empty() {
        match conn.stream.write(&conn.unsent) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                conn.unsent.drain(..n);
            }
            // The send buffer is full: the rest waits for `WRITABLE`.
            Err(e) if would_block(&e) => return Ok(()),
            Err(e) if interrupted(&e) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The call would have slept (Python: `BlockingIOError`).
fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

/// A signal interrupted the call: not an error, make it again.
fn interrupted(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Interrupted
}
