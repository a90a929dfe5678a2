//! Starting a server the way `benches/compare.sh` does: `--bind
//! 127.0.0.1:0`, read the real address back from the readiness line, and
//! stop it with SIGTERM. A server that never announces itself or never
//! stops fails the test within a bound, and is killed when dropped.

#![allow(dead_code)] // each test file uses its own part of this

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// How long anything here may take before the test fails.
pub const BOUND: Duration = Duration::from_secs(10);

/// A running server; killed on drop if still running.
pub struct Server {
    child: Option<Child>,
    /// `HOST:PORT` from the readiness line.
    pub addr: String,
}

impl Server {
    /// Runs `program args... --bind 127.0.0.1:0` and waits for
    /// `listening on SCHEME://ADDR`.
    pub fn start(program: &Path, args: &[&str], scheme: &str) -> Result<Server> {
        let mut child = Command::new(program)
            .args(args)
            .args(["--bind", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut server = Server {
            child: Some(child),
            addr: String::new(),
        };
        let line = rx.recv_timeout(BOUND)?;
        let prefix = format!("listening on {scheme}://");
        server.addr = line
            .trim_end()
            .strip_prefix(&prefix)
            .ok_or_else(|| format!("readiness line {line:?} does not start with {prefix:?}"))?
            .to_string();
        Ok(server)
    }

    /// Sends SIGTERM and returns how the server exited.
    pub fn stop(mut self) -> Result<ExitStatus> {
        let mut child = self.child.take().ok_or("already stopped")?;
        let killed = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()?;
        if !killed.success() {
            let _ = child.kill();
            return Err("kill -TERM failed".into());
        }
        let (tx, rx) = mpsc::channel();
        let pid = child.id();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        match rx.recv_timeout(BOUND) {
            Ok(status) => Ok(status?),
            Err(_) => {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
                Err("server did not stop on SIGTERM".into())
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Whether a missing tool is a failure (`REACTOR_REQUIRE_TOOLS=1`, as CI
/// sets it) rather than a skip.
pub fn tools_required() -> bool {
    std::env::var("REACTOR_REQUIRE_TOOLS").is_ok_and(|v| v == "1")
}

/// `Ok(Some(path))` if `tool` is on PATH; `Ok(None)` (after saying what is
/// skipped) if not and tools are not required; `Err` if they are.
pub fn tool(tool: &str, skipping: &str) -> Result<Option<PathBuf>> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(tool))
            .find(|path| path.is_file())
    });
    match found {
        Some(path) => Ok(Some(path)),
        None if tools_required() => Err(format!("{tool} is required but not installed").into()),
        None => {
            eprintln!("skipped {skipping}: {tool} is not installed");
            Ok(None)
        }
    }
}

/// A directory of its own under the system's temp dir for this test.
pub fn scratch_dir(name: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("reactor-peers-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// A port nobody listens on right now, for servers (nginx, Redis) that
/// cannot be told to pick one and report it.
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
