//! # Step 2: a thread per client
//!
//! **New in this step:** `accept` hands each client to a thread of its
//! own and goes straight back to accepting. The echo loop itself is
//! unchanged: it still sleeps in `read` and `write_all`, but now only its
//! own thread sleeps.
//!
//! **What it costs:** a thread per connection. Each one reserves a stack
//! (Rust gives spawned threads 2 MiB of address space; a few KiB are
//! touched), is a task the kernel schedules, and costs a context switch
//! every time its client sends a byte. Ten thousand idle clients are ten
//! thousand sleeping threads; the count printed on stderr at each connect
//! is the bill. Creating a thread can also fail (`ulimit -u`,
//! `/proc/sys/kernel/threads-max`): `thread::spawn` would panic then, so
//! this server uses `Builder::spawn`, which returns the error, and turns
//! that one client away.
//!
//! **Python:** `threading.Thread(target=handle, args=(conn,)).start()`
//! per client, which is what `socketserver.ThreadingMixIn` does for you
//! (`examples/python/blocking_echo_server.py --threads`).
//!
//! Run it: `cargo run --example e2_threads -- [ADDR]` (default
//! `127.0.0.1:7000`). Next: `diff examples/e2_threads.rs examples/e3_busy_loop.rs`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// Threads serving a client right now: what this design costs, counted.
static CLIENT_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Accepts clients and gives each a thread; never waits for a client.
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
        let threads = CLIENT_THREADS.fetch_add(1, Ordering::Relaxed) + 1;
        eprintln!("{peer}: connected (client threads: {threads})");
        let spawned = thread::Builder::new()
            .name(format!("client {peer}"))
            .spawn(move || {
                match echo(stream) {
                    Ok(()) => eprintln!("{peer}: closed"),
                    Err(e) => eprintln!("{peer}: closed: {e}"),
                }
                CLIENT_THREADS.fetch_sub(1, Ordering::Relaxed);
            });
        // No thread for it: the closure, and the stream in it, are dropped,
        // which closes the connection. The clients we have go on.
        if let Err(e) = spawned {
            CLIENT_THREADS.fetch_sub(1, Ordering::Relaxed);
            eprintln!("{peer}: closed: no thread for it: {e}");
        }
    }
}

/// Sends every byte back until the client closes. Sleeps whenever the
/// client is silent or slow to read, but only this client's thread sleeps.
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
