//! `reactor load`, black-box: against the real servers (`docs/reference.md`),
//! a server that corrupts bytes, and a closed port. Each run is one
//! second with no warm-up.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};

use common::*;
use serde_json::Value;

/// Runs `reactor load ADDR ARGS --json --duration 1 --warmup 0`; returns
/// the exit code, the parsed report (if any) and stderr.
fn load(addr: SocketAddr, args: &[&str]) -> (Option<i32>, Option<Value>, String) {
    let addr = addr.to_string();
    let mut full = vec!["load", &addr, "--json", "--duration", "1", "--warmup", "0"];
    full.extend_from_slice(args);
    let (status, stdout, stderr) = run_to_exit(&full);
    (status.code(), serde_json::from_str(&stdout).ok(), stderr)
}

fn number(report: &Value, path: &[&str]) -> u64 {
    path.iter()
        .fold(report, |v, key| &v[key])
        .as_u64()
        .unwrap_or_else(|| panic!("no {path:?} in {report}"))
}

/// Asserts a clean run: exit 0, operations done, no errors, sane latency.
fn assert_clean(code: Option<i32>, report: Option<Value>, stderr: &str) -> Value {
    assert_eq!(code, Some(0), "{stderr}");
    let report = report.expect("a JSON report on stdout");
    assert!(number(&report, &["ops"]) > 0, "{report}");
    assert_eq!(number(&report, &["errors", "total"]), 0, "{report}");
    let p50 = number(&report, &["latency_us", "p50"]);
    let max = number(&report, &["latency_us", "max"]);
    assert!(p50 > 0 && p50 <= max, "{report}");
    report
}

#[test]
fn echo_load_is_clean() {
    let server = Server::start(&["echo"]);
    let (code, report, stderr) = load(server.addr, &["--mode", "echo", "--pipeline", "4"]);
    assert_clean(code, report, &stderr);
}

#[test]
fn echo_load_on_two_threads_is_clean() {
    let server = Server::start(&["echo"]);
    let (code, report, stderr) = load(
        server.addr,
        &["--mode", "echo", "--threads", "2", "--connections", "8"],
    );
    let report = assert_clean(code, report, &stderr);
    assert_eq!(number(&report, &["threads"]), 2);
}

#[test]
fn http_load_is_clean() {
    let server = Server::start(&["http"]);
    let (code, report, stderr) = load(server.addr, &["--mode", "http", "--pipeline", "4"]);
    assert_clean(code, report, &stderr);
}

#[test]
fn udp_load_is_clean() {
    let server = Server::start(&["udp-echo"]);
    let (code, report, stderr) = load(server.addr, &["--mode", "udp", "--connections", "10"]);
    assert_clean(code, report, &stderr);
}

#[test]
fn open_loop_keeps_to_the_rate() {
    let server = Server::start(&["echo"]);
    let (code, report, stderr) = load(server.addr, &["--mode", "echo", "--rate", "2000"]);
    let report = assert_clean(code, report, &stderr);
    let ops = number(&report, &["ops"]);
    assert!(
        (1000..=2200).contains(&ops),
        "{ops} ops at 2000/s: {report}"
    );
}

/// An echo server (std::net, a thread per connection: a test fixture)
/// that flips one bit in every read it echoes.
fn corrupting_echo() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut buf = [0; 4096];
                while let Ok(n @ 1..) = stream.read(&mut buf) {
                    buf[0] ^= 0x01;
                    if stream.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn a_corrupted_byte_is_a_mismatch_and_exit_one() {
    let addr = corrupting_echo();
    let (code, report, stderr) = load(addr, &["--mode", "echo", "--connections", "2"]);
    assert_eq!(code, Some(1), "{stderr}");
    let report = report.expect("a JSON report on stdout");
    assert!(number(&report, &["errors", "mismatch"]) > 0, "{report}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("error:") && l.contains("mismatch")),
        "{stderr}"
    );
}

#[test]
fn a_server_that_never_answers_is_timeouts_and_exit_one() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        // Accept and hold every connection, never reading or writing.
        let held: Vec<_> = listener.incoming().take(2).collect();
        std::thread::park();
        drop(held);
    });
    let addr = addr.to_string();
    let (status, stdout, stderr) = run_to_exit(&[
        "load",
        &addr,
        "--json",
        "--duration",
        "2",
        "--warmup",
        "0",
        "--connections",
        "2",
    ]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("a JSON report");
    assert_eq!(number(&report, &["errors", "timeout"]), 2, "{report}");
}

#[test]
fn a_closed_port_is_one_error_line_and_exit_one() {
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    let (code, _, stderr) = load(closed, &["--mode", "echo", "--connections", "3"]);
    assert_eq!(code, Some(1), "{stderr}");
    let errors: Vec<_> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains(&closed.to_string()), "{stderr}");
}

#[test]
fn chat_load_delivers_every_line_to_every_other_member() {
    let server = Server::start(&["chat"]);
    let (code, report, stderr) = load(
        server.addr,
        &["--mode", "chat", "--connections", "5", "--rate", "500"],
    );
    let report = assert_clean(code, report, &stderr);
    // 500 lines a second, each delivered to the 4 other members.
    let ops = number(&report, &["ops"]);
    assert!((1000..=2200).contains(&ops), "{ops} deliveries: {report}");
}

#[test]
fn chat_load_with_one_publisher_counts_its_silence_as_no_loss() {
    let server = Server::start(&["chat"]);
    let (code, report, stderr) = load(
        server.addr,
        &[
            "--mode",
            "chat",
            "--connections",
            "4",
            "--publishers",
            "1",
            "--rate",
            "500",
        ],
    );
    let report = assert_clean(code, report, &stderr);
    assert_eq!(number(&report, &["publishers"]), 1, "{report}");
    // 500 lines a second from one member, each delivered to the 3 others;
    // the publisher itself hears nothing, and that is no loss.
    let ops = number(&report, &["ops"]);
    assert!((750..=1650).contains(&ops), "{ops} deliveries: {report}");
}

#[test]
fn chat_without_a_rate_is_a_usage_error() {
    let (status, _, stderr) = run_to_exit(&["load", "127.0.0.1:1", "--mode", "chat"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--rate"), "{stderr}");
}

#[test]
fn udp_to_a_closed_port_is_one_error_line_and_exit_one() {
    let closed = {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        socket.local_addr().expect("addr")
    };
    let (code, _, stderr) = load(closed, &["--mode", "udp", "--connections", "2"]);
    assert_eq!(code, Some(1), "{stderr}");
    let errors: Vec<_> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains(&closed.to_string()), "{stderr}");
}
