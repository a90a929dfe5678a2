//! # Step 8: timers, and an idle timeout
//!
//! **New in this step:** time. Timers are deadlines kept in order in a
//! `BTreeMap<(Instant, u64), Token>`: the sequence number makes keys unique
//! when two deadlines are equal and keeps them in the order they were set.
//! The first key is the next deadline, and it bounds how long `poll` may
//! sleep; after the events, every timer that is due fires. Here each
//! connection has one timer, its idle timeout: a client that moves no byte
//! either way for that long is closed. The timer is not moved on every
//! read (that would be a map removal and insertion per read); a connection
//! notes when it was last active, and a timer that fires early is set again
//! from that moment. `close` cancels the connection's timer, so the map
//! holds only live ones.
//!
//! **What breaks without it:** a client that connects and says nothing,
//! or half-closes and never reads what it is owed, holds a socket, a slot
//! and up to `MAX_QUEUED` bytes for ever; enough of them and the server
//! runs out of file descriptors. And `poll` with no timeout can only wake
//! for I/O: without a deadline bounding its sleep, nothing time-based can
//! happen in a single-threaded loop.
//!
//! **Python:** `loop.call_later(delay, callback)` returns a `TimerHandle`
//! that `cancel()` disarms; asyncio keeps them in a heap whose first
//! deadline bounds `select`'s timeout, the same design
//! (`examples/python/asyncio_protocol_echo.py --idle-timeout SECS`).
//!
//! **Where next:** this is the loop of the project, reduced to echo. The
//! full one is in `src/event_loop/`: one turn of the loop (poll, dispatch,
//! still-ready list, due timers) in `mod.rs`, the buffered connection and
//! its states in `conn.rs`, the queue written with one `writev` in
//! `outqueue.rs`, timers in `timer.rs`, slot-plus-generation tokens in
//! `token.rs`; and protocols other than echo plug into it through the
//! `Protocol` trait in `protocol.rs`.
//!
//! Run it: `cargo run --example e8_timers -- [ADDR] [IDLE_SECS]` (default
//! `127.0.0.1:7000`, 30 seconds; fractions allowed, e.g. `0.5`).

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Registry, Token};
use slab::Slab;

/// Where to listen when no address is given on the command line.
const DEFAULT_ADDR: &str = "127.0.0.1:7000";
/// Bytes asked for per `read`: Python's `recv(4096)`, one memory page.
const READ_SIZE: usize = 4096;
/// How long a client may stay silent when no timeout is given on the
/// command line.
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Reads one connection may make per turn before the others get theirs:
/// 16 of `READ_SIZE` is 64 KiB, plenty per wake-up for a bulk sender, and
/// little enough that a thousand other clients each get a turn within
/// milliseconds.
const READ_BUDGET: usize = 16;
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
    let idle_timeout = idle_timeout()?;
    let listener = std::net::TcpListener::bind(addr)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {addr}: {e}")))?;
    announce(listener.local_addr()?)?;
    serve(listener, idle_timeout)
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

/// The idle timeout from the command line (seconds), or the default.
fn idle_timeout() -> io::Result<Duration> {
    let Some(text) = std::env::args().nth(2) else {
        return Ok(DEFAULT_IDLE_TIMEOUT);
    };
    let seconds = text.parse::<f64>().ok().filter(|s| *s > 0.0);
    seconds
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| {
            let why = format!("{text:?} is not an idle timeout (want seconds > 0, e.g. 30)");
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
    /// When a byte last moved, either way.
    last_active: Instant,
    /// Its idle timer, so `close` can cancel it.
    idle_timer: TimerKey,
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

/// Names one armed timer: its deadline, and a sequence number that keeps
/// keys unique and equal deadlines in the order they were set.
type TimerKey = (Instant, u64);

/// Deadlines in order, each with the connection it is for.
struct Timers {
    armed: BTreeMap<TimerKey, Token>,
    next_sequence: u64,
}

impl Timers {
    fn new() -> Timers {
        Timers {
            armed: BTreeMap::new(),
            next_sequence: 0,
        }
    }

    /// Arms a timer for `token` at `deadline`.
    fn add(&mut self, deadline: Instant, token: Token) -> TimerKey {
        let key = (deadline, self.next_sequence);
        self.next_sequence += 1;
        self.armed.insert(key, token);
        key
    }

    /// Disarms a timer (one that already fired is simply not there).
    fn cancel(&mut self, key: TimerKey) {
        self.armed.remove(&key);
    }

    /// How long `poll` may sleep: until the first deadline (zero if it has
    /// passed), or for ever when no timer is armed.
    fn poll_timeout(&self, now: Instant) -> Option<Duration> {
        let (&(deadline, _), _) = self.armed.first_key_value()?;
        Some(deadline.saturating_duration_since(now))
    }

    /// Removes the first timer if it is due at `now`; returns its token.
    fn pop_due(&mut self, now: Instant) -> Option<Token> {
        let entry = self.armed.first_entry()?;
        (entry.key().0 <= now).then(|| entry.remove())
    }
}

/// What to do with a connection after visiting it.
enum Next {
    /// Keep it: nothing more can be done for it until `poll` says so.
    Wait,
    /// Keep it, and come back next turn: the read budget ran out, and no
    /// new edge will say that bytes are still waiting.
    Again,
    /// Drop it: the peer closed its side and is owed nothing.
    Close,
}

/// Accepts and serves every client on one thread; sleeps only in `poll`.
fn serve(listener: std::net::TcpListener, idle_timeout: Duration) -> io::Result<()> {
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
    let mut still_ready: Vec<Token> = Vec::new();
    let mut timers = Timers::new();
    loop {
        // Sleep until at least one socket has news or the first timer is
        // due: no spinning. But with connections still ready from the last
        // turn, only look, never sleep.
        let timeout = if still_ready.is_empty() {
            timers.poll_timeout(Instant::now())
        } else {
            Some(Duration::ZERO)
        };
        if let Err(e) = poll.poll(&mut events, timeout) {
            if interrupted(&e) {
                continue;
            }
            return Err(e);
        }
        // Last turn's leftovers run after this turn's events, each with a
        // fresh budget. One that also had an event this turn runs twice and
        // may have been put on the list twice: once is enough, or a client
        // that sends without pause would appear there once more every turn.
        let mut leftovers = std::mem::take(&mut still_ready);
        leftovers.sort_unstable();
        leftovers.dedup();
        // Visit only the sockets the kernel named, found by their token.
        for event in events.iter() {
            match event.token() {
                LISTENER => accept_all(
                    &listener,
                    poll.registry(),
                    &mut connections,
                    &mut next_generation,
                    &mut timers,
                    idle_timeout,
                ),
                token => on_connection_event(
                    poll.registry(),
                    &mut connections,
                    &mut timers,
                    token,
                    &mut still_ready,
                ),
            }
        }
        for token in leftovers {
            on_connection_event(
                poll.registry(),
                &mut connections,
                &mut timers,
                token,
                &mut still_ready,
            );
        }
        // Then time: every timer due by now fires, in deadline order.
        let now = Instant::now();
        while let Some(token) = timers.pop_due(now) {
            on_idle_timer(
                poll.registry(),
                &mut connections,
                &mut timers,
                token,
                idle_timeout,
                now,
            );
        }
    }
}

/// A connection's idle timer fired: close it if it really was idle,
/// else set the timer again from its last activity.
fn on_idle_timer(
    registry: &Registry,
    connections: &mut Slab<Connection>,
    timers: &mut Timers,
    token: Token,
    idle_timeout: Duration,
    now: Instant,
) {
    // `close` cancels a connection's timer, so a timer always finds its
    // connection; the generation check costs nothing and guards that.
    let Some(key) = find(connections, token) else {
        return;
    };
    let conn = &mut connections[key];
    let deadline = conn.last_active + idle_timeout;
    if deadline > now {
        conn.idle_timer = timers.add(deadline, token);
        return;
    }
    let why = format!("idle for {:.1} s", idle_timeout.as_secs_f64());
    let error = io::Error::new(io::ErrorKind::TimedOut, why);
    close(registry, connections, timers, token, Some(error));
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

/// Runs the handler of the connection `token` names; closes it when done,
/// or puts it on `still_ready` when its budget ran out.
fn on_connection_event(
    registry: &Registry,
    connections: &mut Slab<Connection>,
    timers: &mut Timers,
    token: Token,
    still_ready: &mut Vec<Token>,
) {
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
    let result = match echo(conn) {
        Ok(Next::Wait) => update_interest(registry, token, conn),
        Ok(Next::Again) => {
            still_ready.push(token);
            update_interest(registry, token, conn)
        }
        Ok(Next::Close) => {
            close(registry, connections, timers, token, None);
            return;
        }
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        close(registry, connections, timers, token, Some(e));
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

/// The one place a connection ends: its timer is cancelled, the kernel
/// stops watching it, then dropping it closes the socket.
fn close(
    registry: &Registry,
    connections: &mut Slab<Connection>,
    timers: &mut Timers,
    token: Token,
    error: Option<io::Error>,
) {
    let Some(key) = find(connections, token) else {
        return;
    };
    // The slot is free from now on: the next connection may take it.
    let mut conn = connections.remove(key);
    timers.cancel(conn.idle_timer);
    // Failing to deregister is harmless: closing the socket removes it
    // from the kernel's interest list anyway.
    let _ = registry.deregister(&mut conn.stream);
    match error {
        None => eprintln!("{}: closed", conn.peer),
        Some(e) => eprintln!("{}: closed: {e}", conn.peer),
    }
}

/// Accepts every client waiting in the backlog. Registers each with its
/// own token, and arms its idle timer.
fn accept_all(
    listener: &TcpListener,
    registry: &Registry,
    connections: &mut Slab<Connection>,
    next_generation: &mut u32,
    timers: &mut Timers,
    idle_timeout: Duration,
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
        let now = Instant::now();
        entry.insert(Connection {
            stream,
            peer,
            generation,
            queue: VecDeque::new(),
            state: State::Open,
            interest,
            last_active: now,
            idle_timer: timers.add(now + idle_timeout, token),
        });
    }
}

/// Does what can be done for one client without waiting: write what is
/// queued, then read what has arrived and echo it, until a call says
/// `WouldBlock`, the queue is full or the budget is spent. Stopping
/// anywhere else would strand bytes: the edge that woke us is spent, and
/// no new one comes for bytes already there. (A full queue is safe:
/// `READABLE` is dropped, and added back only after the next round of
/// reading. A spent budget is safe: `Next::Again` brings us back.)
fn echo(conn: &mut Connection) -> io::Result<Next> {
    let mut buf = [0u8; READ_SIZE];
    flush(conn)?;
    let mut reads = 0;
    while conn.wants_input() {
        // This client has had its share of the turn: the others go first.
        if reads == READ_BUDGET {
            return Ok(Next::Again);
        }
        reads += 1;
        let n = match conn.stream.read(&mut buf) {
            // The peer closed its side; it may still be owed bytes.
            Ok(0) => {
                conn.state = State::PeerClosed;
                break;
            }
            Ok(n) => {
                conn.last_active = Instant::now();
                n
            }
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
                conn.last_active = Instant::now();
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
