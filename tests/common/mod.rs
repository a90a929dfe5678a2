//! Helpers for the black-box tests: start the real `reactor` binary on port
//! 0, wait for its readiness line, watch its log, stop it.
//!
//! Every wait here is bounded by a timeout that only matters when something
//! is broken; none of them is used to let time pass.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Bound on any single wait: long enough for a loaded CI machine, short
/// enough that a hang fails the test instead of the whole run.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A running `reactor` server.
pub struct Server {
    child: Option<Child>,
    pid: u32,
    /// The address from the readiness line.
    pub addr: SocketAddr,
    /// The readiness line itself.
    pub ready_line: String,
    /// `reactor chat --web`'s second readiness line's address
    /// (`listening on http://...`), for servers started with
    /// [`Server::start_web`].
    pub web: Option<SocketAddr>,
    log: Receiver<String>,
    /// Log lines read so far.
    pub log_seen: Vec<String>,
}

impl Server {
    /// Starts `reactor ARGS --bind 127.0.0.1:0` and waits for its readiness
    /// line.
    pub fn start(args: &[&str]) -> Server {
        Server::start_in(Command::new(env!("CARGO_BIN_EXE_reactor")), args, 1)
    }

    /// Starts `reactor chat ARGS --web 127.0.0.1:0 --bind 127.0.0.1:0` and
    /// waits for both readiness lines: `tcp://` first, then `http://`,
    /// whose address is [`Server::web`].
    pub fn start_web(args: &[&str]) -> Server {
        let mut full = vec!["chat", "--web", "127.0.0.1:0"];
        full.extend_from_slice(args);
        Server::start_in(Command::new(env!("CARGO_BIN_EXE_reactor")), &full, 2)
    }

    /// Starts `reactor ARGS` under a shell that first runs `setup` (for
    /// example `ulimit -n 32`).
    pub fn start_after(setup: &str, args: &[&str]) -> Server {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("{setup} && exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_reactor"));
        Server::start_in(command, args, 1)
    }

    /// Starts the server and reads `ready_lines` readiness lines (all of
    /// them before the pipe is let go: a server writing its second line
    /// to a closed pipe would fail).
    fn start_in(mut command: Command, args: &[&str], ready_lines: usize) -> Server {
        let mut full: Vec<&str> = args.to_vec();
        if !args.contains(&"--bind") {
            full.extend(["--bind", "127.0.0.1:0"]);
        }
        let mut child = command
            .args(&full)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start reactor");
        let stdout = child.stdout.take().expect("stdout");
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            let mut lines = Vec::new();
            for _ in 0..ready_lines {
                let mut line = String::new();
                let _ = stdout.read_line(&mut line);
                lines.push(line.trim_end().to_string());
            }
            let _ = ready_tx.send(lines);
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
        let lines = match ready_rx.recv_timeout(PATIENCE) {
            Ok(lines) => lines,
            Err(_) => {
                let _ = child.kill();
                panic!("no readiness line from reactor {full:?}");
            }
        };
        let addr_in = |line: &str, scheme: &str| -> SocketAddr {
            line.strip_prefix("listening on ")
                .and_then(|rest| rest.strip_prefix(scheme))
                .and_then(|rest| rest.strip_prefix("://"))
                .and_then(|a| a.parse().ok())
                .unwrap_or_else(|| panic!("bad readiness line {line:?}: {lines:?}"))
        };
        let ready_line = lines.first().cloned().unwrap_or_default();
        let scheme = ready_line
            .strip_prefix("listening on ")
            .and_then(|rest| rest.split("://").next())
            .unwrap_or("?");
        let addr = addr_in(&ready_line, scheme);
        let web = lines.get(1).map(|line| addr_in(line, "http"));
        Server {
            pid: child.id(),
            child: Some(child),
            addr,
            ready_line,
            web,
            log,
            log_seen: Vec::new(),
        }
    }

    /// The process id (for /proc and signals).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Waits for a log line containing `needle`; returns it.
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
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    panic!("no log line with {needle:?}; saw {:#?}", self.log_seen)
                }
            }
        }
    }

    /// Sends a signal to the server.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits for the server to exit; returns its status and the rest of its
    /// log.
    pub fn wait_exit(mut self) -> (ExitStatus, Vec<String>) {
        let mut child = self.child.take().expect("child");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        let Ok(status) = rx.recv_timeout(PATIENCE) else {
            let _ = Command::new("kill")
                .args(["-KILL", &self.pid.to_string()])
                .status();
            panic!("server did not exit; log {:#?}", self.log_seen);
        };
        // The log pipe closes when the process is gone.
        while let Ok(line) = self.log.recv_timeout(PATIENCE) {
            self.log_seen.push(line);
        }
        (status.expect("wait"), std::mem::take(&mut self.log_seen))
    }

    /// Resident memory of the server now, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }

    /// A client connection with read and write timeouts.
    pub fn connect(&self) -> TcpStream {
        connect(self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A TCP connection with read/write timeouts that bound failures.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    stream.set_write_timeout(Some(PATIENCE)).expect("timeout");
    stream
}

/// Reads until end-of-file (or the timeout fails the test).
pub fn read_to_end(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    stream.read_to_end(&mut all).expect("read until EOF");
    all
}

/// Reads exactly `n` bytes.
pub fn read_exact(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    stream.read_exact(&mut buf).expect("read_exact");
    buf
}

/// The number after `name=` in a log line (a stats line or the summary).
pub fn log_counter(line: &str, name: &str) -> u64 {
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(&format!("{name}=")))
        .and_then(|n| n.trim_matches(|c: char| !c.is_ascii_digit()).parse().ok())
        .unwrap_or_else(|| panic!("no {name}= in {line:?}"))
}

/// Like [`log_counter`], but 0 when the line does not name the counter
/// (counters shown only when not zero, such as `discarded=`).
pub fn log_counter_or_zero(line: &str, name: &str) -> u64 {
    if line.contains(&format!(" {name}=")) {
        log_counter(line, name)
    } else {
        0
    }
}

/// One echo round trip.
pub fn round_trip(stream: &mut TcpStream, message: &[u8]) {
    stream.write_all(message).expect("write");
    assert_eq!(read_exact(stream, message.len()), message);
}

/// Deterministic pseudo-random bytes (xorshift), different per seed.
pub fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// Runs `reactor ARGS` to completion with a bound; returns status, stdout,
/// stderr.
pub fn run_to_exit(args: &[&str]) -> (ExitStatus, String, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_reactor"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start reactor");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = rx
        .recv_timeout(PATIENCE)
        .expect("reactor did not exit")
        .expect("wait");
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A client of a line protocol: writes lines, reads them one at a time.
/// Every read is bounded by [`PATIENCE`], so a missing line fails the test
/// instead of hanging it.
pub struct LineClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl LineClient {
    /// Connects to `addr`.
    pub fn connect(addr: SocketAddr) -> LineClient {
        let stream = connect(addr);
        let writer = stream.try_clone().expect("clone");
        LineClient {
            reader: BufReader::new(stream),
            writer,
        }
    }

    /// Sends `line` and a `\n`.
    pub fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\n").as_bytes());
    }

    /// Sends bytes as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write");
    }

    /// The next line, without its `\n`; fails on end-of-file.
    pub fn line(&mut self) -> String {
        let mut line = Vec::new();
        let n = self
            .reader
            .read_until(b'\n', &mut line)
            .expect("read a line");
        assert!(n > 0, "end of file where a line was expected");
        assert_eq!(line.pop(), Some(b'\n'), "line without its \\n: {line:?}");
        String::from_utf8(line).expect("UTF-8 line")
    }

    /// Asserts that the next line is `want`.
    pub fn expect(&mut self, want: &str) {
        assert_eq!(self.line(), want);
    }

    /// Reads until end-of-file (or a reset); returns the lines read.
    pub fn lines_until_eof(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) => return lines,
                Ok(_) => lines.push(line.trim_end_matches('\n').to_string()),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return lines,
                Err(e) => panic!("read until end of file: {e} (after {lines:?})"),
            }
        }
    }

    /// Half-closes: the server reads end-of-file.
    pub fn shutdown_write(&self) {
        self.writer
            .shutdown(std::net::Shutdown::Write)
            .expect("shutdown");
    }

    /// The stream, for what the helpers above do not cover.
    pub fn stream(&self) -> &TcpStream {
        &self.writer
    }
}
