//! `idle-conns ADDR --count N [--hold SECS]`: opens N TCP connections that
//! send nothing and read nothing, prints `open N` on stdout (flushed) once
//! they are all open, and holds them until killed or `--hold` seconds pass.
//!
//! `benches/compare.sh` reads a server's RSS before and after, so the
//! difference is what an idle connection costs it. The connections never
//! read: a server that sends to its clients unprompted (chat's join
//! notices) is measured with those notices queued, as a real idle client
//! that stopped reading would leave them.

use std::io::Write;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use reactor_bench_peers::args::Args;

const USAGE: &str = "idle-conns ADDR --count N [--hold SECS]";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}\nusage: {USAGE}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args = Args::parse(std::env::args().skip(1), &["count", "hold"], &[])?;
    let [addr] = args.positional.as_slice() else {
        return Err("one server address is needed".into());
    };
    let addr: SocketAddr = addr
        .to_socket_addrs()
        .map_err(|e| format!("{addr}: {e}"))?
        .next()
        .ok_or_else(|| format!("{addr}: no address"))?;
    let count: usize = args.required("count")?;
    let hold = Duration::from_secs_f64(args.get("hold", 60.0)?);
    let mut open = Vec::with_capacity(count);
    for n in 0..count {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .map_err(|e| format!("connection {n} of {count} to {addr}: {e}"))?;
        open.push(stream);
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "open {}", open.len())
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write to stdout: {e}"))?;
    // Not synchronisation: the caller kills us when it has read the RSS;
    // this only bounds how long the connections live if it never does.
    std::thread::sleep(hold);
    Ok(())
}
