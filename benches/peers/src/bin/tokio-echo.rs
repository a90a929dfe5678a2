//! TCP echo on tokio: what a Rust programmer writes instead of a reactor
//! of their own. One task per connection, `read` then `write_all` of the
//! same bytes, a 64 KiB buffer per connection (the size `reactor`'s one
//! shared read buffer has).
//!
//! The current-thread runtime by default, the one comparable with a
//! single-threaded loop; `--multi` gives the multi-thread runtime (a
//! worker per core), which is what `#[tokio::main]` gives you.

use std::net::SocketAddr;
use std::process::ExitCode;

use reactor_bench_peers::{announce, args::server_args};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{signal, SignalKind};

const USAGE: &str = "tokio-echo --bind ADDR [--multi]";

fn main() -> ExitCode {
    let (bind, args) = match server_args(USAGE, &["multi"]) {
        Ok(parsed) => parsed,
        Err(status) => return status,
    };
    let mut builder = if args.flag("multi") {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let result = builder
        .enable_all()
        .build()
        .and_then(|runtime| runtime.block_on(serve(bind)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Accepts until SIGTERM or SIGINT; connections still open then are
/// dropped with the runtime.
async fn serve(bind: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(bind).await?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    announce("tcp", listener.local_addr()?)?;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    tokio::spawn(echo(stream));
                }
                // Out of descriptors, or a connection reset before we took
                // it: the listener itself is fine, keep serving.
                Err(e) => eprintln!("accept: {e}"),
            },
            _ = terminate.recv() => return Ok(()),
            _ = interrupt.recv() => return Ok(()),
        }
    }
}

/// Sends back every byte until the peer closes or an error ends it.
async fn echo(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if stream.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
