//! The real clients the web tests drive, none of them ours: the official
//! Socket.IO client for node (`node/sio_driver.js`), `python-socketio`
//! (`sio_driver.py`) and Python's `websockets` (`ws_driver.py`).
//!
//! Each script is a thin *driver*: it reads one JSON command per line on
//! stdin, does it with its library, and prints one JSON object per line on
//! stdout for everything the library hands it (events, acks, frames). The
//! conversation and every check stay in Rust, so the Socket.IO drivers for
//! two languages run the very same conversation.
//!
//! Finding the tools: [`python_with`] and [`node_client`] say what they
//! skip and why when a tool is missing, unless `REACTOR_REQUIRE_TOOLS=1`,
//! which makes that a failure (CI installs them: `.ci/run`).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Instant;

use serde_json::{json, Value};

use crate::common::PATIENCE;

/// A path inside `tests/clients/`.
pub fn script(name: &str) -> PathBuf {
    [env!("CARGO_MANIFEST_DIR"), "tests", "clients", name]
        .iter()
        .collect()
}

/// The running test's name (the harness names its thread after it).
fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string()
}

/// A missing tool: a failure under `REACTOR_REQUIRE_TOOLS=1`, otherwise a
/// skip that says why (straight to stderr, which the harness does not
/// capture, so it is seen).
fn missing(problem: &str) -> Option<Command> {
    let test = test_name();
    if std::env::var("REACTOR_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("{test}: {problem}, and REACTOR_REQUIRE_TOOLS=1 makes that a failure");
    }
    let _ = writeln!(std::io::stderr(), "skipped {test}: {problem}");
    None
}

/// `python3 -B` (no `.pyc` in the tree), if it can import every module
/// of `modules` (`requirements.txt` here lists the packages).
pub fn python_with(modules: &[&str]) -> Option<Command> {
    let check = format!("import {}", modules.join(", "));
    match Command::new("python3").args(["-c", &check]).output() {
        Ok(out) if out.status.success() => {
            let mut python = Command::new("python3");
            python.arg("-B");
            Some(python)
        }
        Ok(out) => missing(&format!(
            "python3 cannot import {} (`python3 -m pip install -r \
             tests/clients/requirements.txt`): {}",
            modules.join(", "),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        )),
        Err(e) => missing(&format!("python3 cannot be run: {e}")),
    }
}

/// `node`, if it runs and `socket.io-client` is installed in
/// `tests/clients/node` (`npm ci` there).
pub fn node_client() -> Option<Command> {
    let dir = script("node");
    if !dir.join("node_modules").join("socket.io-client").is_dir() {
        return missing(&format!(
            "socket.io-client is not installed (run `npm ci` in {})",
            dir.display()
        ));
    }
    match Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => {
            let mut node = Command::new("node");
            node.current_dir(dir);
            Some(node)
        }
        Ok(_) => missing("`node --version` failed"),
        Err(e) => missing(&format!("node cannot be run: {e}")),
    }
}

/// A running driver script.
pub struct Driver {
    /// The process, until [`Driver::finish`] takes it to wait for.
    child: Option<Child>,
    name: String,
    stdin: ChildStdin,
    lines: Receiver<Value>,
    /// What it printed and no `expect` has taken yet.
    pending: Vec<Value>,
    /// Everything it printed, for failure messages.
    seen: Vec<Value>,
    stderr: Receiver<String>,
}

impl Driver {
    /// Starts `command` (an interpreter and its script's arguments).
    pub fn start(mut command: Command) -> Driver {
        let name = format!("{command:?}");
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stdin = child.stdin.take().expect("stdin");
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // A line that is not JSON (a library's own print) is kept
                // as a string: seen in failures, matched by nothing.
                let value = serde_json::from_str(&line).unwrap_or(Value::String(line));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        let (tx, stderr) = mpsc::channel();
        let pipe = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Driver {
            child: Some(child),
            name,
            stdin,
            lines,
            pending: Vec::new(),
            seen: Vec::new(),
            stderr,
        }
    }

    /// Sends one command.
    pub fn send(&mut self, command: Value) {
        writeln!(self.stdin, "{command}").unwrap_or_else(|e| self.fail(&format!("write: {e}")));
    }

    /// The first line, printed or still to come, that `wanted` accepts
    /// (taken from the pending ones); fails the test after [`PATIENCE`].
    /// Lines it passes over stay pending: the drivers' libraries hand
    /// events over on threads of their own, so two of them may be
    /// printed in either order.
    pub fn expect(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        if let Some(at) = self.pending.iter().position(&wanted) {
            return self.pending.remove(at);
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(value) = self.lines.recv_timeout(left) else {
                self.fail(&format!("no {what}"));
            };
            self.seen.push(value.clone());
            if value.get("error").is_some() {
                self.fail(&format!("error while waiting for {what}"));
            }
            if wanted(&value) {
                return value;
            }
            self.pending.push(value);
        }
    }

    /// A server event `name` whose first argument is `arg`.
    pub fn expect_event(&mut self, name: &str, arg: Value) {
        let what = format!("event {name} {arg}");
        self.expect(&what, |v| v["event"] == name && v["args"][0] == arg);
    }

    /// A notice event with this text.
    pub fn expect_notice(&mut self, text: &str) {
        self.expect_event("notice", json!({ "text": text }));
    }

    /// Emits `event` with `args` and an ack callback; returns the ack's
    /// data.
    pub fn call(&mut self, event: &str, args: Value) -> Value {
        self.send(json!({ "op": "call", "event": event, "args": args }));
        let ack = self.expect(&format!("the ack of {event}"), |v| v["ack"] == event);
        ack["data"].clone()
    }

    /// Emits `event` with `args`, no ack asked.
    pub fn emit(&mut self, event: &str, args: Value) {
        self.send(json!({ "op": "emit", "event": event, "args": args }));
        self.expect(&format!("{event} emitted"), |v| v["emitted"] == event);
    }

    /// Waits (bounded) for the driver to exit by itself; fails unless it
    /// exits 0.
    pub fn finish(mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = child.id();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        match rx.recv_timeout(PATIENCE) {
            Ok(Ok(status)) if status.success() => {}
            Ok(Ok(status)) => self.fail(&format!("exited with {status}")),
            Ok(Err(e)) => self.fail(&format!("wait: {e}")),
            Err(_) => {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
                self.fail("did not exit");
            }
        }
    }

    /// Fails the test with what the driver printed and logged.
    fn fail(&mut self, why: &str) -> ! {
        self.kill();
        // The pipes close with the process: read them to their end.
        while let Ok(value) = self.lines.recv_timeout(PATIENCE) {
            self.seen.push(value);
        }
        let stderr: Vec<String> =
            std::iter::from_fn(|| self.stderr.recv_timeout(PATIENCE).ok()).collect();
        panic!(
            "{}: {why}\nprinted: {:#?}\nstderr: {stderr:#?}",
            self.name, self.seen
        );
    }
}

impl Driver {
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.kill();
    }
}
