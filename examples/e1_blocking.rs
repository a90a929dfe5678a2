//! # Step 1: a blocking echo server, one client at a time
//!
//! **New in this step:** everything. A listening socket, `accept`, and a
//! loop of `read` then `write_all` for the client it returned. Every call
//! may sleep: `accept` until a client connects, `read` until it sends,
//! `write_all` until the kernel has taken every byte.
//!
//! **What breaks:** while this thread sleeps in `read` for client A,
//! client B's connection waits in the kernel's listen backlog. B's
//! `connect` succeeds (the kernel completes the handshake for us), B's
//! bytes arrive, and nobody reads them until A leaves. Try it: two
//! `nc 127.0.0.1 7000` in two terminals; the second gets its echo only
//! after the first quits.
//!
//! **Python:** the server of the `socket` tutorial:
//! `conn, addr = s.accept()`, then `data = conn.recv(4096)`,
//! `if not data: break`, `conn.sendall(data)`
//! (`examples/python/blocking_echo_server.py`).
//!
//! Run it: `cargo run --example e1_blocking -- [ADDR]` (default
//! `127.0.0.1:7000`). Next: `diff examples/e1_blocking.rs examples/e2_threads.rs`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

/// Where to listen when no address is given on the command line.
const DEFAULT_ADDR: &str = "127.0.0.1:7000";
/// Bytes asked for per `read`: Python's `recv(4096)`, one memory page.
const READ_SIZE: usize = 4096;
/// Pause after a failed `accept` (out of file descriptors, say), so a
/// failure that repeats does not spin the CPU. Go's `net/http` backs off
/// the same way, from 5 ms up.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

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

/// Accepts clients one after another; each is served to the end before
/// the next one is even accepted.
fn serve(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            // A signal arrived while `accept` slept: not an error, ask again.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // One failed accept is no reason to stop serving.
            Err(e) => {
                eprintln!("accept failed: {e}");
                thread::sleep(ACCEPT_BACKOFF);
                continue;
            }
        };
        eprintln!("{peer}: connected");
        match echo(stream) {
            Ok(()) => eprintln!("{peer}: closed"),
            Err(e) => eprintln!("{peer}: closed: {e}"),
        }
    }
}

/// Sends every byte back until the client closes. Sleeps whenever the
/// client is silent or slow to read: that is the whole problem.
fn echo(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = [0u8; READ_SIZE];
    loop {
        let n = match stream.read(&mut buf) {
            // The peer closed its side (Python: `recv` returned `b""`).
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // A reset (the peer vanished) ends this client, not the server.
            Err(e) => return Err(e),
        };
        // `write_all` loops until the kernel has taken every byte, and
        // retries `Interrupted` itself (Python: `sendall`).
        stream.write_all(&buf[..n])?;
    }
}
