//! # Step 5: a write queue, and `WRITABLE` only while it is non-empty
//!
//! **New in this step:** output has a home of its own. `send` writes what
//! the kernel takes now and queues the rest behind whatever already waits,
//! so it never blocks and never loses a byte, wherever it is called from.
//! Reading goes on while the queue has room; once it holds `MAX_QUEUED`
//! bytes the connection stops reading (the client's bytes wait in the
//! kernel, then its own writes wait: backpressure), and reads again when
//! the queue drains. The interest registered with `poll` is computed from
//! that state, never toggled by hand: `READABLE` while more input would
//! fit, `WRITABLE` only while something is queued. And `Ok(0)` no longer
//! means "close now": the peer that half-closed is owed what is queued,
//! so the connection enters `State::PeerClosed` and closes once it is
//! written.
//!
//! **What breaks without it:** step 4 asked for `WRITABLE` for every
//! connection all the time: wasted wake-ups with epoll, a loop that never
//! sleeps on a level-triggered poller. And it had nowhere to put bytes
//! that were not an answer to the read just made: a chat server sending
//! one message to a hundred members, or a goodbye sent by a timer, needs
//! a queue that takes bytes whenever they come.
//!
//! **Python:** what `asyncio` hides behind `transport.write(data)`: it
//! tries `send` at once, buffers the rest, and asks the selector for
//! `EVENT_WRITE` only while the buffer is non-empty. Past the high-water
//! mark (64 KiB by default) it calls your protocol's `pause_writing()`,
//! where a well-behaved protocol stops reading. `examples/python/
//! selectors_echo.py` does it by hand with `sel.modify(sock, EVENT_READ |
//! EVENT_WRITE)` and `asyncio_protocol_echo.py` with `pause_reading()`.
//!
//! Run it: `cargo run --example e5_write_queue -- [ADDR]` (default
//! `127.0.0.1:7000`). Next: `diff examples/e5_write_queue.rs examples/e6_tokens.rs`.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::process::ExitCode;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Registry, Token};

/// Where to listen when no address is given on the command line.
const DEFAULT_ADDR: &str = "127.0.0.1:7000";
/// Bytes asked for per `read`: Python's `recv(4096)`, one memory page.
const READ_SIZE: usize = 4096;
/// Queued bytes past which a connection stops reading until they drain:
/// asyncio's default high-water mark. Bounds what a client that sends
/// without reading can make us hold.
const MAX_QUEUED: usize = 64 * 1024;
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
    /// Bytes sent but not yet taken by the kernel, oldest first.
    queue: VecDeque<u8>,
    /// Where it is in its life.
    state: State,
    /// What it is registered for now, so `poll` is told only of changes.
    interest: Interest,
}

/// Where a connection is in its life.
#[derive(Clone, Copy)]
enum State {
    /// Reading and echoing.
    Open,
    /// The peer closed its side (`Ok(0)`): nothing more to read, but what
    /// is queued is still owed. Closed once it is written.
    PeerClosed,
}

impl Connection {
    /// Whether to read: the peer may still send and the queue has room.
    fn wants_input(&self) -> bool {
        match self.state {
            State::Open => self.queue.len() < MAX_QUEUED,
            State::PeerClosed => false,
        }
    }

    /// What to ask `poll` for, from the state alone: `READABLE` while more
    /// input would fit, `WRITABLE` only while something is queued.
    fn wanted_interest(&self) -> Interest {
        match (self.wants_input(), self.queue.is_empty()) {
            (true, true) => Interest::READABLE,
            (true, false) => Interest::READABLE | Interest::WRITABLE,
            // Not reading means something is queued: a full queue, or bytes
            // owed to a peer that closed (with none owed it is closed).
            (false, _) => Interest::WRITABLE,
        }
    }
}

/// What to do with a connection after visiting it.
enum Next {
    /// Keep it: nothing more can be done for it until `poll` says so.
    Wait,
    /// Drop it: the peer closed its side and is owed nothing.
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
        Ok(Next::Wait) => {
            if let Err(e) = update_interest(registry, token, conn) {
                close(registry, connections, token, Some(e));
            }
        }
        Ok(Next::Close) => close(registry, connections, token, None),
        Err(e) => close(registry, connections, token, Some(e)),
    }
}

/// Tells `poll` what the connection waits for now, if that changed.
fn update_interest(registry: &Registry, token: Token, conn: &mut Connection) -> io::Result<()> {
    let wanted = conn.wanted_interest();
    if wanted != conn.interest {
        registry.reregister(&mut conn.stream, token, wanted)?;
        conn.interest = wanted;
    }
    Ok(())
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
        // Nothing is queued yet, so only `READABLE`.
        let interest = Interest::READABLE;
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
                queue: VecDeque::new(),
                state: State::Open,
                interest,
            },
        );
    }
}

/// Does what can be done for one client without waiting: write what is
/// queued, then read what has arrived and echo it, until a call says
/// `WouldBlock` or the queue is full. Stopping earlier would strand bytes:
/// the edge that woke us is spent, and no new one comes for bytes already
/// there. (A full queue is safe: `READABLE` is dropped, and added back only
/// after the next round of reading.)
fn echo(conn: &mut Connection) -> io::Result<Next> {
    let mut buf = [0u8; READ_SIZE];
    flush(conn)?;
    while conn.wants_input() {
        let n = match conn.stream.read(&mut buf) {
            // The peer closed its side; it may still be owed bytes.
            Ok(0) => {
                conn.state = State::PeerClosed;
                break;
            }
            Ok(n) => n,
            // All read (Python: `BlockingIOError`): the next edge wakes us.
            Err(e) if would_block(&e) => break,
            Err(e) if interrupted(&e) => continue,
            Err(e) => return Err(e),
        };
        send(conn, &buf[..n])?;
    }
    match conn.state {
        State::PeerClosed if conn.queue.is_empty() => Ok(Next::Close),
        State::Open | State::PeerClosed => Ok(Next::Wait),
    }
}

/// Sends `bytes` behind whatever is already queued, writing what the
/// kernel takes now (Python: `transport.write`). Never blocks, never
/// drops a byte. (asyncio tries `send` before copying into its buffer; one
/// copy of at most `READ_SIZE` bytes is cheaper than the code to avoid it.)
fn send(conn: &mut Connection, bytes: &[u8]) -> io::Result<()> {
    conn.queue.extend(bytes);
    flush(conn)
}

/// Writes as much of the queue as the kernel takes now; a partial write
/// leaves the rest queued.
fn flush(conn: &mut Connection) -> io::Result<()> {
    while !conn.queue.is_empty() {
        // The queue is a ring buffer: write its first contiguous part; the
        // next round of this loop writes the part that wrapped around.
        let (front, _) = conn.queue.as_slices();
        match conn.stream.write(front) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                conn.queue.drain(..n);
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
