//! # Step 6: connections in a slab; a token is slot plus generation
//!
//! **New in this step:** connections live in a `Slab`, a `Vec` whose free
//! slots are reused, so a connection's key is a small index and finding it
//! is an array access, not a hash. The token is built from that key, and
//! keys are reused the way the kernel reuses file descriptor numbers: the
//! next connection takes the lowest free slot. So the token also carries a
//! *generation*, a number each new connection gets afresh, and an event
//! whose generation is not that of the slot's occupant is stale: dropped.
//!
//! **What breaks without the generation:** a token outlives its
//! connection wherever it is kept. In one batch from `poll`, event 1
//! closes the connection in slot 4, event 2 (the listener) accepts a new
//! client into slot 4, event 3 still names the old one: with the key
//! alone, it runs the new client's handler. Step 7 keeps tokens across
//! turns in a list of connections to come back to and step 8 in its
//! timers: there a close and a reuse in between is routine, and a stale
//! token would read the new client's bytes or close it for the old one's
//! timeout. (In this echo a connection closes only while handling its own
//! event, so here the check never fires; it is the next steps that need
//! it.) Step 4's counter never repeated, so it could not go wrong that way,
//! but it needed a `HashMap`; the generation buys back that safety for
//! the price of one comparison.
//!
//! **Python:** `selectors` keys everything by file descriptor, and the
//! kernel hands a closed descriptor's number to the next socket: a
//! `dict` of per-connection state keyed by `fileno()`, or a key not
//! unregistered before `close`, meets the next client
//! (`examples/python/selectors_fd_reuse.py` shows it happen).
//!
//! Run it: `cargo run --example e6_tokens -- [ADDR]` (default
//! `127.0.0.1:7000`). Next: `diff examples/e6_tokens.rs examples/e7_read_budget.rs`.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::process::ExitCode;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Registry, Token};
use slab::Slab;

/// Where to listen when no address is given on the command line.
const DEFAULT_ADDR: &str = "127.0.0.1:7000";
/// Bytes asked for per `read`: Python's `recv(4096)`, one memory page.
const READ_SIZE: usize = 4096;
/// Queued bytes past which a connection stops reading until they drain:
/// asyncio's default high-water mark. Bounds what a client that sends
/// without reading can make us hold.
const MAX_QUEUED: usize = 64 * 1024;
/// The listener's token: slot 0, generation 0. Connections' generations
/// start at 1, so no connection's token is ever this one.
const LISTENER: Token = Token(0);
// A token packs two 32-bit halves into a `usize`, which must hold both.
const _: () = assert!(usize::BITS >= 64, "tokens need a 64-bit usize");
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
    /// Which of the slot's occupants this is; part of its token.
    generation: u32,
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
    let mut connections: Slab<Connection> = Slab::new();
    let mut next_generation = 1;
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
                    &mut next_generation,
                ),
                token => on_connection_event(poll.registry(), &mut connections, token),
            }
        }
    }
}

/// A connection's token: slab key in the low 32 bits, generation in the
/// high 32. (A key never needs more than 32 bits: the kernel runs out of
/// file descriptors long before.)
fn token_for(key: usize, generation: u32) -> Token {
    Token((generation as usize) << 32 | key)
}

/// The slab key `token` names, if its connection is still there: the slot
/// is occupied, and by the same generation.
fn find(connections: &Slab<Connection>, token: Token) -> Option<usize> {
    let key = token.0 & 0xFFFF_FFFF;
    let generation = (token.0 >> 32) as u32;
    let conn = connections.get(key)?;
    (conn.generation == generation).then_some(key)
}

/// Runs the handler of the connection `token` names; closes it when done.
fn on_connection_event(registry: &Registry, connections: &mut Slab<Connection>, token: Token) {
    // A stale token: its connection is closed, and its slot may hold a new
    // one that this event is not about.
    let Some(key) = find(connections, token) else {
        eprintln!(
            "stale token {:#x}: its connection is gone; dropped",
            token.0
        );
        return;
    };
    let conn = &mut connections[key];
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
    connections: &mut Slab<Connection>,
    token: Token,
    error: Option<io::Error>,
) {
    let Some(key) = find(connections, token) else {
        return;
    };
    // The slot is free from now on: the next connection may take it.
    let mut conn = connections.remove(key);
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
    connections: &mut Slab<Connection>,
    next_generation: &mut u32,
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
        // mio's `accept` returns a non-blocking socket. It takes the lowest
        // free slot, maybe one just freed, and a generation no connection
        // had before. (After 2^32 connections generations repeat, skipping
        // 0; an event that old is long gone.)
        let entry = connections.vacant_entry();
        let generation = *next_generation;
        *next_generation = next_generation.wrapping_add(1).max(1);
        let token = token_for(entry.key(), generation);
        // Nothing is queued yet, so only `READABLE`.
        let interest = Interest::READABLE;
        if let Err(e) = registry.register(&mut stream, token, interest) {
            eprintln!("{peer}: closed: {e}");
            continue;
        }
        eprintln!("{peer}: connected");
        entry.insert(Connection {
            stream,
            peer,
            generation,
            queue: VecDeque::new(),
            state: State::Open,
            interest,
        });
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
