//! TCP echo with one blocking thread per connection: the textbook server
//! that an event loop replaces (chapter 1 of the docs starts here).
//!
//! Nothing is clever on purpose: `accept` on the main thread, a thread per
//! connection doing blocking `read` then `write_all`. Each thread costs a
//! stack and a kernel task, and every wake-up is a context switch; that is
//! what the comparison shows.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;

use reactor_bench_peers::{announce, args::server_args};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

const USAGE: &str = "threads-echo --bind ADDR";

fn main() -> ExitCode {
    let (bind, _) = match server_args(USAGE, &[]) {
        Ok(parsed) => parsed,
        Err(status) => return status,
    };
    match serve(bind) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(bind: std::net::SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(bind)?;
    // Blocked threads cannot be told to stop; the process just ends on the
    // first SIGTERM or SIGINT, and the kernel closes every socket.
    let mut signals = Signals::new([SIGTERM, SIGINT])?;
    std::thread::Builder::new().spawn(move || {
        if signals.forever().next().is_some() {
            std::process::exit(0);
        }
    })?;
    announce("tcp", listener.local_addr()?)?;
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                // Out of threads or memory: this connection is closed (the
                // stream is dropped with the closure), the others go on.
                let spawned = std::thread::Builder::new().spawn(move || echo(stream));
                if let Err(e) = spawned {
                    eprintln!("cannot start a thread: {e}");
                }
            }
            Err(e) => eprintln!("accept: {e}"),
        }
    }
    Ok(())
}

/// Sends back every byte until the peer closes or an error ends it.
fn echo(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if stream.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}
