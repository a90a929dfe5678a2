//! The system calls behind two promises, counted on real sockets with
//! `strace` attached to the server:
//!
//! - HTTP: "all the answers to one read leave in one write", so a
//!   pipelining client costs one `write` per `read`, not one per request;
//! - chat: "one write per member per turn", so a burst of lines read in
//!   one turn reaches each member in one `write`, not one per line.
//!
//! Without `strace` (or where it may not attach) the tests say what they
//! skipped, and pass, unless `REACTOR_REQUIRE_TOOLS=1`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::common::*;

/// The calls counted: every way a socket is read or written.
const TRACED: &str = "trace=read,readv,recvfrom,recvmsg,write,writev,sendto,sendmsg";

/// `strace` attached to a running server, writing to a file.
struct Strace {
    child: Child,
    output: PathBuf,
}

/// One traced call: its name, descriptor and result.
#[derive(Debug)]
struct Call {
    name: String,
    fd: i32,
    result: i64,
}

impl Strace {
    /// Attaches to `pid`; `None` (having said why) when strace is missing
    /// or may not attach here.
    fn attach(pid: u32, name: &str) -> Option<Strace> {
        let output =
            std::env::temp_dir().join(format!("reactor-strace-{}-{name}", std::process::id()));
        let spawned = Command::new("strace")
            .args(["-f", "-s", "0", "-e", TRACED, "-o"])
            .arg(&output)
            .args(["-p", &pid.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                skip_or_fail(&format!("cannot run strace ({e})"));
                return None;
            }
        };
        // strace says on stderr when it has attached (or why it cannot).
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut line = String::new();
        let _ = stderr.read_line(&mut line);
        if !line.contains("attached") {
            let _ = child.kill();
            let _ = child.wait();
            skip_or_fail(&format!("strace cannot attach here: {}", line.trim()));
            return None;
        }
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        Some(Strace { child, output })
    }

    /// Detaches (SIGINT makes strace let go of the process cleanly) and
    /// returns the calls it saw.
    fn finish(mut self) -> Vec<Call> {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-INT", &pid]).status();
        assert!(status.expect("kill").success());
        let _ = self.child.wait();
        let text = std::fs::read_to_string(&self.output).expect("strace output");
        let _ = std::fs::remove_file(&self.output);
        text.lines().filter_map(parse).collect()
    }
}

/// `1234  sendto(9, ""..., 2112, MSG_NOSIGNAL, NULL, 0) = 2112` -> a call.
fn parse(line: &str) -> Option<Call> {
    let line = line.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
    let (name, rest) = line.split_once('(')?;
    let fd = rest.split(',').next()?.trim().parse().ok()?;
    let result = line
        .rsplit_once(" = ")?
        .1
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(Call {
        name: name.to_string(),
        fd,
        result,
    })
}

fn is_read(call: &Call) -> bool {
    matches!(
        call.name.as_str(),
        "read" | "readv" | "recvfrom" | "recvmsg"
    )
}

fn is_write(call: &Call) -> bool {
    matches!(
        call.name.as_str(),
        "write" | "writev" | "sendto" | "sendmsg"
    )
}

/// Per descriptor: reads that returned data, and writes.
fn per_fd(calls: &[Call]) -> HashMap<i32, (usize, usize)> {
    let mut counts: HashMap<i32, (usize, usize)> = HashMap::new();
    for call in calls {
        let entry = counts.entry(call.fd).or_default();
        if is_read(call) && call.result > 0 {
            entry.0 += 1;
        } else if is_write(call) {
            entry.1 += 1;
        }
    }
    counts
}

#[test]
fn http_answers_a_pipelined_read_with_one_write() {
    const ROUNDS: usize = 5;
    const PIPELINED: usize = 16;
    let server = Server::start(&["http", "-qq"]);
    let mut stream = server.connect();
    let Some(strace) = Strace::attach(server.pid(), "http") else {
        return;
    };
    let request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(PIPELINED);
    for _ in 0..ROUNDS {
        stream.write_all(&request).expect("requests");
        let mut answers = Vec::new();
        while answers
            .windows(13)
            .filter(|w| w == b"Hello, World!")
            .count()
            < PIPELINED
        {
            answers.extend(read_exact(&mut stream, 1));
        }
    }
    let calls = strace.finish();
    let counts = per_fd(&calls);
    // The connection is the one descriptor that was read from.
    let (&fd, &(reads, writes)) = counts
        .iter()
        .find(|(_, (reads, _))| *reads > 0)
        .unwrap_or_else(|| panic!("no read in {calls:?}"));
    assert!(
        reads >= ROUNDS,
        "fd {fd}: {reads} reads for {ROUNDS} rounds"
    );
    assert!(
        writes <= reads,
        "fd {fd}: {writes} writes for {reads} reads: {calls:?}"
    );
    assert!(
        writes < ROUNDS * PIPELINED / 4,
        "{writes} writes for {} requests",
        ROUNDS * PIPELINED
    );
}

#[test]
fn chat_sends_a_burst_of_lines_to_each_member_in_one_write() {
    const LINES: usize = 10;
    let server = Server::start(&["chat", "-qq"]);
    let mut sender = LineClient::connect(server.addr);
    sender.line();
    let mut members: Vec<LineClient> = (0..3).map(|_| LineClient::connect(server.addr)).collect();
    // Read every welcome and joined notice, so that the traced part holds
    // only the burst.
    for (i, member) in members.iter_mut().enumerate() {
        member.line();
        for _ in i + 1..3 {
            member.line();
        }
    }
    for _ in 0..3 {
        sender.line();
    }
    let Some(strace) = Strace::attach(server.pid(), "chat") else {
        return;
    };
    let burst: String = (0..LINES).map(|i| format!("line {i}\n")).collect();
    sender.send_raw(burst.as_bytes());
    for member in &mut members {
        for i in 0..LINES {
            member.expect(&format!("guest-1: line {i}"));
        }
    }
    let calls = strace.finish();
    let counts = per_fd(&calls);
    let burst_reads: usize = counts.values().map(|(reads, _)| reads).sum();
    let written: Vec<usize> = counts
        .values()
        .filter(|(_, writes)| *writes > 0)
        .map(|(_, writes)| *writes)
        .collect();
    assert_eq!(written.len(), 3, "three members written to: {calls:?}");
    // One write per member for each read of the burst (one, when the ten
    // lines arrive together, as they do on loopback).
    assert!(
        written.iter().all(|&w| w == burst_reads),
        "writes per member {written:?} for {burst_reads} reads: {calls:?}"
    );
    assert!(burst_reads < LINES, "{burst_reads} reads for {LINES} lines");
}
