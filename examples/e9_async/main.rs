//! # Step 9: `async`/`await` on a readiness loop: a tiny executor
//!
//! **New in this step:** the echo is written as the blocking loop of step 1
//! again, with `.await` after each call that could sleep:
//!
//! ```text
//! async fn echo(stream: &AsyncStream) -> io::Result<()> {
//!     let mut buf = [0u8; READ_SIZE];
//!     loop {
//!         let n = stream.read(&mut buf).await?;
//!         if n == 0 { return Ok(()); }
//!         stream.write_all(&buf[..n]).await?;
//!     }
//! }
//! ```
//!
//! The compiler turns that function into a state machine: a value holding
//! `buf` and where the function stopped, with a `poll` method that runs it
//! to its next `.await` that cannot finish yet and returns `Pending`.
//! `EchoByHand` below is the same machine written out by hand (an enum of
//! the places it can stop, beside the buffer), and the server runs either
//! one: `by-hand` as the second argument picks it.
//!
//! This file is the program, as it would be written with tokio or with
//! asyncio's `sock_*` calls. What those would provide is in
//! `examples/e9_async/runtime.rs`: a *driver* that turns readiness events
//! into wake-ups, sockets whose calls are futures, and an *executor* that
//! polls the tasks that were woken (read its opening comment first).
//!
//! **Why on mio, not on `src/event_loop/`:** the project's loop is *push*:
//! it reads a connection whenever it is readable and hands the bytes to
//! `Protocol::on_input`, whatever the protocol is doing. A future is
//! *pull*: it reads when its task gets to `read().await`. Hosting one on
//! the other needs a buffer between them, as asyncio's `StreamReader` sits
//! on a `Protocol`, and a way for the task to stop the reading while that
//! buffer is full (asyncio: `transport.pause_reading()`); `Io` has no such
//! call (its reads pause only on a full *output* queue). So this executor
//! polls mio itself, as tokio and asyncio's `sock_recv` do.
//!
//! **Python:** `await loop.sock_recv(sock, 4096)` is this file's `read`:
//! it tries `recv`, and on `BlockingIOError` calls `loop.add_reader(fd,
//! ...)` and awaits a future the callback completes
//! (`examples/python/asyncio_sock_echo.py`). `asyncio.create_task` is
//! `Spawner::spawn`; `call_soon_threadsafe` is a `Waker` called from
//! another thread, which must also wake `poll` (`TaskWaker::wake_by_ref`).
//!
//! Run it: `cargo run --example e9_async -- [ADDR] [async|by-hand]`
//! (default `127.0.0.1:7000`, `async`).

use std::future::Future;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::ExitCode;
use std::task::{self, Context};

mod runtime;

use runtime::{AsyncListener, AsyncStream, Runtime, Spawner};

/// Where to listen when no address is given on the command line.
const DEFAULT_ADDR: &str = "127.0.0.1:7000";
/// Bytes asked for per `read`: Python's `recv(4096)`, one memory page.
const READ_SIZE: usize = 4096;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Binds, prints the readiness line, runs the accept task until killed
/// (Python: `asyncio.run(serve(...))`; tokio: `Runtime::block_on`).
fn run() -> io::Result<()> {
    let addr = listen_address()?;
    let flavour = flavour()?;
    let listener = std::net::TcpListener::bind(addr)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {addr}: {e}")))?;
    announce(listener.local_addr()?)?;
    let runtime = Runtime::new()?;
    let listener = runtime.listener(listener)?;
    let spawner = runtime.spawner();
    runtime.run(Box::pin(serve(listener, spawner, flavour)))
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

/// Which echo to run: the `async fn`, or the state machine by hand.
#[derive(Debug, Clone, Copy)]
enum Flavour {
    AsyncFn,
    ByHand,
}

impl Flavour {
    fn name(self) -> &'static str {
        match self {
            Flavour::AsyncFn => "async fn",
            Flavour::ByHand => "by-hand",
        }
    }
}

/// The flavour from the command line, or `async`.
fn flavour() -> io::Result<Flavour> {
    match std::env::args().nth(2).as_deref() {
        None | Some("async") => Ok(Flavour::AsyncFn),
        Some("by-hand") => Ok(Flavour::ByHand),
        Some(other) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{other:?} is not an echo (want `async` or `by-hand`)"),
        )),
    }
}

/// The readiness line, the only thing printed on stdout. Flushed, so a
/// script waiting for it sees it at once, with the real port when the
/// address asked for port 0.
fn announce(addr: SocketAddr) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "listening on tcp://{addr}")?;
    stdout.flush()
}

// ----- the program: two tasks' worth of `async fn` ----------------------

/// Accepts clients for ever, and spawns an echo task for each one: the
/// accept loop of step 1, as a task among the others.
async fn serve(listener: AsyncListener, spawner: Spawner, flavour: Flavour) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors, say: try again at the next readiness
                // (a new client arriving), not at once, which would spin.
                eprintln!("accept failed: {e}");
                listener.readable().await;
                continue;
            }
        };
        spawner.spawn(Box::pin(serve_client(peer, stream, flavour)));
    }
}

/// One client's task: its echo, run to the end, and how it ended.
async fn serve_client(peer: SocketAddr, stream: AsyncStream, flavour: Flavour) {
    let outcome = match flavour {
        Flavour::AsyncFn => run_echo(peer, flavour, echo(&stream)).await,
        Flavour::ByHand => run_echo(peer, flavour, EchoByHand::new(&stream)).await,
    };
    // How often the client's task used up its budget and let the others
    // run: 0 for a client that waits between messages, many for a flood.
    let fairness = format!("budget spent {} times", stream.gave_way());
    match outcome {
        Ok(()) => eprintln!("{peer}: closed ({fairness})"),
        Err(e) => eprintln!("{peer}: closed: {e} ({fairness})"),
    }
}

/// Says how big the echo's state machine is, then runs it. Its size is
/// what it keeps across `.await`s: mostly `buf`.
async fn run_echo(
    peer: SocketAddr,
    flavour: Flavour,
    echo: impl Future<Output = io::Result<()>>,
) -> io::Result<()> {
    let size = std::mem::size_of_val(&echo);
    eprintln!(
        "{peer}: connected ({} echo, a future of {size} bytes)",
        flavour.name()
    );
    echo.await
}

/// Step 1's echo, with `.await` where step 1 would sleep.
async fn echo(stream: &AsyncStream) -> io::Result<()> {
    let mut buf = [0u8; READ_SIZE];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(()); // the peer closed its side, and is owed nothing
        }
        stream.write_all(&buf[..n]).await?;
    }
}

/// [`echo`], written out: what the compiler makes of it, in the shape of
/// step 5's `Connection` (its data, and a state saying where it is).
struct EchoByHand<'a> {
    stream: &'a AsyncStream,
    buf: [u8; READ_SIZE],
    state: EchoState,
}

/// Where [`EchoByHand`] stopped: one variant per `.await` of [`echo`],
/// holding what is alive there besides `stream` and `buf`.
#[derive(Debug, Clone, Copy)]
enum EchoState {
    /// At `stream.read(&mut buf).await`.
    Reading,
    /// At `stream.write_all(&buf[..filled]).await`, `written` bytes done.
    Writing { filled: usize, written: usize },
    /// Returned.
    Done,
}

impl EchoByHand<'_> {
    fn new(stream: &AsyncStream) -> EchoByHand<'_> {
        EchoByHand {
            stream,
            buf: [0; READ_SIZE],
            state: EchoState::Reading,
        }
    }
}

impl Future for EchoByHand<'_> {
    type Output = io::Result<()>;

    /// Runs until a call would block (`Pending`) or the echo ends.
    /// Positions, not borrows, say where `buf` is filled up to, so this
    /// struct never points into itself and may move between polls
    /// (`Unpin`). The compiler's version borrows `buf` across an `.await`,
    /// which is why a future must be pinned before it is polled.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> task::Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            let step = match this.state {
                EchoState::Reading => this.stream.poll_read(cx, &mut this.buf),
                EchoState::Writing { filled, written } => {
                    this.stream.poll_write(cx, &this.buf[written..filled])
                }
                EchoState::Done => return task::Poll::Ready(Ok(())),
            };
            let n = match step {
                task::Poll::Pending => return task::Poll::Pending,
                task::Poll::Ready(Err(e)) => {
                    this.state = EchoState::Done;
                    return task::Poll::Ready(Err(e));
                }
                task::Poll::Ready(Ok(n)) => n,
            };
            this.state = match (this.state, n) {
                (EchoState::Reading, 0) => EchoState::Done,
                (EchoState::Reading, n) => EchoState::Writing {
                    filled: n,
                    written: 0,
                },
                (EchoState::Writing { .. }, 0) => {
                    this.state = EchoState::Done;
                    return task::Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                (EchoState::Writing { filled, written }, n) if written + n == filled => {
                    EchoState::Reading
                }
                (EchoState::Writing { filled, written }, n) => EchoState::Writing {
                    filled,
                    written: written + n,
                },
                (EchoState::Done, _) => EchoState::Done,
            };
        }
    }
}
