//! # Step 3: non-blocking sockets in a busy loop
//!
//! **New in this step:** one thread again, but no call may sleep. The
//! listener and every client socket are non-blocking: a call that would
//! have slept returns `WouldBlock` at once. So each client's progress can
//! no longer live on a thread's stack; it lives in a `Connection` (the
//! bytes we still owe it), and one loop visits every connection in turn:
//! accept whoever is waiting, then for each client write what it is owed
//! and read what has arrived.
//!
//! **What breaks:** nobody tells the loop which sockets have news, so it
//! asks all of them, all the time. With no client sending a byte it still
//! spins: the line printed on stderr each second counts hundreds of
//! thousands of passes over nobody, and `top` shows a whole core burnt
//! doing nothing. (And while one client keeps sending, its inner loop
//! keeps reading, and everyone else waits: step 7 comes back to that.)
//!
//! **Python:** `sock.setblocking(False)`, and `except BlockingIOError:`
//! around `recv`, `send` and `accept`: `BlockingIOError` is Python's
//! name for `WouldBlock` (`EAGAIN`).
//!
//! Run it: `cargo run --example e3_busy_loop -- [ADDR]` (default
//! `127.0.0.1:7000`). Next: `diff examples/e3_busy_loop.rs examples/e4_mio.rs`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Where to listen when no address is given on the command line.
const DEFAULT_ADDR: &str = "127.0.0.1:7000";
/// Bytes asked for per `read`: Python's `recv(4096)`, one memory page.
const READ_SIZE: usize = 4096;
/// How often the loop says how many passes it made.
const REPORT_EVERY: Duration = Duration::from_secs(1);

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
    let listener = TcpListener::bind(addr)
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
    /// Keep it: nothing more can be done for it now.
    Wait,
    /// Drop it: the peer closed its side.
    Close,
}

/// Accepts and serves every client on one thread; never sleeps.
fn serve(listener: TcpListener) -> io::Result<()> {
    // From here on no call sleeps: one that would returns `WouldBlock`.
    listener.set_nonblocking(true)?;
    let mut connections: Vec<Connection> = Vec::new();
    let mut passes = PassCounter::new();
    loop {
        accept_all(&listener, &mut connections);
        // Visit every client, ready or not: nobody tells us which ones have
        // news, so we ask each in turn, again and again.
        connections.retain_mut(|conn| match echo(conn) {
            Ok(Next::Wait) => true,
            Ok(Next::Close) => {
                eprintln!("{}: closed", conn.peer);
                false
            }
            Err(e) => {
                eprintln!("{}: closed: {e}", conn.peer);
                false
            }
        });
        passes.count(connections.len());
    }
}

/// Accepts every client waiting in the backlog.
fn accept_all(listener: &TcpListener, connections: &mut Vec<Connection>) {
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            // The backlog is empty (Python: `BlockingIOError`).
            Err(e) if would_block(&e) => return,
            Err(e) if interrupted(&e) => continue,
            // One failed accept is no reason to stop serving. (Out of file
            // descriptors, this logs on every pass while it lasts.)
            Err(e) => {
                eprintln!("accept failed: {e}");
                return;
            }
        };
        // Whether an accepted socket inherits the listener's non-blocking
        // mode depends on the platform: set it on each.
        if let Err(e) = stream.set_nonblocking(true) {
            eprintln!("{peer}: closed: {e}");
            continue;
        }
        eprintln!("{peer}: connected");
        connections.push(Connection {
            stream,
            peer,
            unsent: Vec::new(),
        });
    }
}

/// Does what can be done for one client without waiting: write back what
/// it is owed, then read what has arrived and echo it, until a call says
/// `WouldBlock`.
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
            // Nothing has arrived (Python: `BlockingIOError`): next pass.
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
            // The send buffer is full: the rest waits.
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

/// Counts passes over the clients and reports them on stderr once a
/// second: with nobody sending, nearly every pass finds nothing to do.
struct PassCounter {
    passes: u64,
    since: Instant,
}

impl PassCounter {
    fn new() -> PassCounter {
        PassCounter {
            passes: 0,
            since: Instant::now(),
        }
    }

    /// One more pass over `clients` connections.
    fn count(&mut self, clients: usize) {
        self.passes += 1;
        let elapsed = self.since.elapsed();
        if elapsed >= REPORT_EVERY {
            eprintln!(
                "{} passes over {clients} clients in {:.1} s, busy or not",
                self.passes,
                elapsed.as_secs_f64()
            );
            *self = PassCounter::new();
        }
    }
}
