//! `reactor client`, black-box: against the real servers (`docs/reference.md`).

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;

use common::*;

/// Runs `reactor client ARGS` with `input` on stdin (written from a thread,
/// so a large input cannot deadlock against the output pipe).
fn client(args: &[&str], input: Vec<u8>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reactor"))
        .arg("client")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start client");
    let mut stdin = child.stdin.take().expect("stdin");
    std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    wait_bounded(child)
}

fn wait_bounded(child: std::process::Child) -> Output {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    rx.recv_timeout(PATIENCE)
        .expect("client did not exit")
        .expect("wait")
}

#[test]
fn a_line_through_echo_prints_and_exits_zero() {
    let server = Server::start(&["echo"]);
    let out = client(&[&server.addr.to_string()], b"hi\n".to_vec());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"hi\n");
}

#[test]
fn four_mebibytes_of_random_bytes_come_back_identical() {
    let server = Server::start(&["echo"]);
    let payload = random_bytes(42, 4 * 1024 * 1024);
    let out = client(&[&server.addr.to_string()], payload.clone());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), payload.len());
    assert!(out.stdout == payload, "bytes differ");
}

#[test]
fn stdin_from_a_regular_file_works() {
    let server = Server::start(&["echo"]);
    let payload = random_bytes(43, 300_000);
    let path = std::env::temp_dir().join(format!("reactor-client-{}.bin", std::process::id()));
    std::fs::write(&path, &payload).expect("write temp file");
    let file = std::fs::File::open(&path).expect("open temp file");
    let child = Command::new(env!("CARGO_BIN_EXE_reactor"))
        .args(["client", &server.addr.to_string()])
        .stdin(Stdio::from(file))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start client");
    let out = wait_bounded(child);
    let _ = std::fs::remove_file(&path);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout == payload, "got {} bytes", out.stdout.len());
}

#[test]
fn a_closed_port_is_one_error_line_and_exit_one() {
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    let out = client(&[&closed.to_string()], b"hi\n".to_vec());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<_> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains(&closed.to_string()), "{stderr}");
    assert!(errors[0].contains("refused"), "{stderr}");
}

#[test]
fn udp_lines_are_datagrams_and_replies_are_lines() {
    let server = Server::start(&["udp-echo"]);
    let out = client(
        &["--udp", "--wait", "500", &server.addr.to_string()],
        b"one\ntwo\r\nthree".to_vec(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "one\ntwo\nthree\n");
}

#[test]
fn a_malformed_address_is_a_usage_error() {
    let out = client(&["no-port-here"], Vec::new());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error:") && stderr.contains("<ADDR>"),
        "{stderr}"
    );
}

#[test]
fn a_name_that_does_not_resolve_is_a_runtime_error() {
    let out = client(&["no-such-host.invalid:1"], Vec::new());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<_> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("cannot resolve no-such-host.invalid:1"),
        "{stderr}"
    );
}
