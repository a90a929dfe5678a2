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

/// How a run paced itself, for what its latency can be.
#[derive(Clone, Copy)]
enum Pacing {
    /// Each connection keeps this many messages in flight in all.
    Closed { in_flight: u64 },
    /// Messages left on a schedule.
    Open,
}

/// Asserts a clean run: exit 0, operations done, no errors, and latency
/// figures that could be true (each of these fails for a measure gone
/// wrong, where "p50 <= max" never could):
/// - in order: p50 <= p90 <= p99 <= p99.9 <= max;
/// - no lower than 5 µs, a loopback round trip (a slip of units to ms
///   would record 1, the histogram's floor);
/// - no longer than the run and the one second a message may still wait;
/// - closed loop: within Little's law. Every message is in flight all the
///   time, so the mean latency is `in_flight / throughput`; a median above
///   3 times that, or below 1/50 of it, is not a latency of these messages
///   (measured: 0.5 to 0.95 of it).
fn assert_clean(code: Option<i32>, report: Option<Value>, stderr: &str, pacing: Pacing) -> Value {
    assert_eq!(code, Some(0), "{stderr}");
    let report = report.expect("a JSON report on stdout");
    assert!(number(&report, &["ops"]) > 0, "{report}");
    assert_eq!(number(&report, &["errors", "total"]), 0, "{report}");
    let latency: Vec<u64> = ["p50", "p90", "p99", "p999", "max"]
        .iter()
        .map(|p| number(&report, &["latency_us", p]))
        .collect();
    assert!(latency.windows(2).all(|w| w[0] <= w[1]), "{report}");
    let (p50, max) = (latency[0], latency[4]);
    assert!(p50 >= 5, "a median of {p50} µs: {report}");
    let run_s = report["duration_s"].as_f64().expect("duration_s") + 1.0;
    assert!(
        max as f64 <= run_s * 1e6,
        "a latency longer than the run: {report}"
    );
    if let Pacing::Closed { in_flight } = pacing {
        let ops_per_sec = report["ops_per_sec"].as_f64().expect("ops_per_sec");
        let mean_us = in_flight as f64 / ops_per_sec * 1e6;
        assert!(
            (p50 as f64) <= 3.0 * mean_us && (p50 as f64) >= mean_us / 50.0,
            "median {p50} µs against a mean of {mean_us:.0} µs by Little's law: {report}"
        );
    }
    report
}

/// The open-loop runs below send at a fixed rate for one second with no
/// warm-up: `rate` messages are due. A run counts one short by each
/// answer still on its way when the clock stops, and may send one more
/// per connection at the very end (due counts the message whose time is
/// exactly now); 5% below is a generator that fell behind.
fn assert_rate(ops: u64, rate: u64, connections: u64, report: &Value) {
    assert!(
        ops >= rate * 95 / 100 && ops <= rate + connections,
        "{ops} operations at {rate}/s over 1 s: {report}"
    );
}

#[test]
fn echo_load_is_clean() {
    let server = Server::start(&["echo"]);
    let (code, report, stderr) = load(server.addr, &["--mode", "echo", "--pipeline", "4"]);
    assert_clean(code, report, &stderr, Pacing::Closed { in_flight: 50 * 4 });
}

#[test]
fn echo_load_on_two_threads_is_clean() {
    let server = Server::start(&["echo"]);
    let (code, report, stderr) = load(
        server.addr,
        &["--mode", "echo", "--threads", "2", "--connections", "8"],
    );
    let report = assert_clean(code, report, &stderr, Pacing::Closed { in_flight: 8 });
    assert_eq!(number(&report, &["threads"]), 2);
}

#[test]
fn http_load_is_clean() {
    let server = Server::start(&["http"]);
    let (code, report, stderr) = load(server.addr, &["--mode", "http", "--pipeline", "4"]);
    assert_clean(code, report, &stderr, Pacing::Closed { in_flight: 50 * 4 });
}

#[test]
fn udp_load_is_clean() {
    let server = Server::start(&["udp-echo"]);
    let (code, report, stderr) = load(server.addr, &["--mode", "udp", "--connections", "10"]);
    assert_clean(code, report, &stderr, Pacing::Closed { in_flight: 10 });
}

#[test]
fn open_loop_keeps_to_the_rate() {
    let server = Server::start(&["echo"]);
    let (code, report, stderr) = load(server.addr, &["--mode", "echo", "--rate", "2000"]);
    let report = assert_clean(code, report, &stderr, Pacing::Open);
    // 50 connections (the default) share the 2000 a second.
    assert_rate(number(&report, &["ops"]), 2000, 50, &report);
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
    let report = assert_clean(code, report, &stderr, Pacing::Open);
    // 500 lines a second, each delivered to the 4 other members: 2000
    // deliveries. A member that heard nothing would leave 1500, which the
    // generator also counts as lost (tests/load_generator.rs shows both).
    assert_rate(number(&report, &["ops"]), 2000, 5 * 4, &report);
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
    let report = assert_clean(code, report, &stderr, Pacing::Open);
    assert_eq!(number(&report, &["publishers"]), 1, "{report}");
    // 500 lines a second from one member, each delivered to the 3 others:
    // 1500; the publisher itself hears nothing, and that is no loss.
    assert_rate(number(&report, &["ops"]), 1500, 3, &report);
}

#[test]
fn chat_without_a_rate_is_a_usage_error() {
    let (status, _, stderr) = run_to_exit(&["load", "127.0.0.1:0", "--mode", "chat"]);
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
