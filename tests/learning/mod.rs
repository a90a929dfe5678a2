//! Helpers for the tests of the learning examples (`examples/e*.rs` and
//! `examples/python/`): start any program that prints a readiness line,
//! find the example binaries and python3, run a client to completion.
//!
//! As in `common`, every wait is bounded by [`PATIENCE`], which only
//! matters when something is broken; none is used to let time pass.

#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Instant;

use crate::common::PATIENCE;

/// A running server (an example or a Python script), killed on drop.
pub struct Spawned {
    child: Child,
    /// What was started, for messages.
    pub name: String,
    /// The address from the readiness line.
    pub addr: SocketAddr,
    /// The readiness line itself.
    pub ready_line: String,
    log: Receiver<String>,
    /// Lines read from its stderr so far.
    pub log_seen: Vec<String>,
}

impl Spawned {
    /// Starts `command` and waits for its readiness line,
    /// `listening on tcp://HOST:PORT`. Its stderr is read as it comes, so a
    /// chatty server never blocks on a full pipe.
    pub fn start(mut command: Command) -> Spawned {
        let name = format!("{command:?}");
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = ready_tx.send(line);
        });
        let stderr = child.stderr.take().expect("stderr");
        let (log_tx, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if log_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let ready_line = match ready_rx.recv_timeout(PATIENCE) {
            Ok(line) => line.trim_end().to_string(),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no readiness line from {name}");
            }
        };
        let mut spawned = Spawned {
            child,
            name,
            addr: "0.0.0.0:0".parse().expect("placeholder address"),
            ready_line,
            log,
            log_seen: Vec::new(),
        };
        spawned.addr = match spawned.ready_line.strip_prefix("listening on tcp://") {
            Some(addr) => addr.parse().unwrap_or_else(|_| spawned.bad_line()),
            None => spawned.bad_line(),
        };
        spawned
    }

    fn bad_line(&mut self) -> ! {
        let log = self.log_until_exit();
        panic!(
            "{}: bad readiness line {:?}; stderr: {log:#?}",
            self.name, self.ready_line
        )
    }

    /// Waits for a stderr line containing `needle`; returns it.
    pub fn wait_for_log(&mut self, needle: &str) -> String {
        if let Some(line) = self.log_seen.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) => {
                    self.log_seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "{}: no log line with {needle:?}; saw {:#?}",
                    self.name, self.log_seen
                ),
            }
        }
    }

    /// Kills the process and returns everything it wrote on stderr.
    pub fn log_until_exit(&mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        while let Ok(line) = self.log.recv_timeout(PATIENCE) {
            self.log_seen.push(line);
        }
        self.log_seen.clone()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary of example `name`. `cargo test` builds the examples into
/// `examples/` next to the `reactor` binary, whatever the profile.
pub fn example_binary(name: &str) -> PathBuf {
    let reactor = PathBuf::from(env!("CARGO_BIN_EXE_reactor"));
    let dir = reactor.parent().expect("the reactor binary's directory");
    let path = dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: `cargo test` builds the examples, but `cargo test --test NAME` \
         does not; run `cargo build --examples` first",
        path.display()
    );
    path
}

/// A path inside `examples/python/`.
pub fn python_script(name: &str) -> PathBuf {
    [env!("CARGO_MANIFEST_DIR"), "examples", "python", name]
        .iter()
        .collect()
}

/// A Python 3.9+ interpreter that was found to work.
pub struct Python(());

impl Python {
    /// `python3 -B`: no `.pyc` files written into the source tree.
    pub fn command(&self) -> Command {
        let mut command = Command::new("python3");
        command.arg("-B");
        command
    }
}

/// The Python interpreter to run the scripts with, if there is one that is
/// 3.9 or later. Without one, says what is skipped and why, and returns
/// `None`, unless `REACTOR_REQUIRE_TOOLS=1`, which turns it into a failure.
pub fn python3() -> Option<Python> {
    // The test harness names each test's thread after the test.
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    let check = "import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)";
    let problem = match Command::new("python3").args(["-c", check]).output() {
        Ok(out) if out.status.success() => return Some(Python(())),
        Ok(_) => "python3 is older than 3.9".to_string(),
        Err(e) => format!("python3 cannot be run: {e}"),
    };
    if std::env::var("REACTOR_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("{test}: {problem}, and REACTOR_REQUIRE_TOOLS=1 makes that a failure");
    }
    // Straight to stderr: the test harness captures `eprintln!`, and a
    // skip should be seen.
    let _ = writeln!(io::stderr(), "skipped {test}: {problem}");
    None
}

/// Runs `command` to completion with `input` on its stdin, bounded by
/// [`PATIENCE`] (killed if it takes longer).
pub fn run_with_input(mut command: Command, input: &[u8]) -> Output {
    let name = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    let pid = child.id();
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    // A separate thread, so a child that does not read cannot block us.
    std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(PATIENCE) {
        Ok(output) => output.unwrap_or_else(|e| panic!("{name}: {e}")),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("{name} did not finish within {PATIENCE:?}");
        }
    }
}
