//! `reactor client`, black-box: against the real servers (`docs/reference.md`).

mod common;

use std::io::Write;
use std::net::{TcpListener, UdpSocket};
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

/// `n` numbered lines, `0\n1\n...`.
fn numbered_lines(n: usize) -> Vec<u8> {
    (0..n).flat_map(|i| format!("{i}\n").into_bytes()).collect()
}

/// A UDP socket standing in for a server, on loopback port 0.
fn fake_udp_server() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket.set_read_timeout(Some(PATIENCE)).expect("timeout");
    socket
}

#[test]
fn five_thousand_udp_lines_all_come_back_and_the_counts_say_so() {
    let server = Server::start(&["udp-echo"]);
    let input = numbered_lines(5000);
    let out = client(
        &["--udp", "--wait", "300", &server.addr.to_string()],
        input.clone(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let mut replies: Vec<&[u8]> = out.stdout.split_inclusive(|&b| b == b'\n').collect();
    // UDP may reorder; loopback does not, but the check need not care.
    replies.sort();
    let mut sent: Vec<&[u8]> = input.split_inclusive(|&b| b == b'\n').collect();
    sent.sort();
    assert!(replies == sent, "{} of 5000 lines came back", replies.len());
    assert!(
        stderr
            .lines()
            .any(|l| l == "sent 5000 datagrams, 5000 replies"),
        "{stderr}"
    );
}

#[test]
fn missing_udp_replies_are_a_warning_with_the_counts() {
    // Answers every other datagram, then stops.
    let fake = fake_udp_server();
    let addr = fake.local_addr().expect("addr");
    let server = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        for n in 0..10 {
            let (len, from) = fake.recv_from(&mut buf).expect("datagram");
            if n % 2 == 0 {
                fake.send_to(&buf[..len], from).expect("reply");
            }
        }
    });
    let out = client(
        &["--udp", "--wait", "300", &addr.to_string()],
        numbered_lines(10),
    );
    server.join().expect("fake server");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "0\n2\n4\n6\n8\n");
    assert!(
        stderr
            .lines()
            .any(|l| l == "warning: sent 10 datagrams, 5 replies (5 unanswered)"),
        "{stderr}"
    );
}

#[test]
fn no_udp_reply_at_all_is_an_error_and_exit_one() {
    // Bound, so no "port unreachable" comes back; never answers.
    let silent = fake_udp_server();
    let addr = silent.local_addr().expect("addr").to_string();
    let out = client(&["--udp", "--wait", "200", &addr], b"a\nb\nc\n".to_vec());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    let errors: Vec<_> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(
        errors,
        [format!("error: udp {addr}: sent 3 datagrams, no reply")],
        "{stderr}"
    );
}

#[test]
fn the_udp_client_never_has_more_than_window_datagrams_unanswered() {
    const WINDOW: usize = 4;
    const LINES: usize = 5 * WINDOW;
    // Holds its replies until WINDOW datagrams are unanswered. Then a
    // client that keeps its window cannot have sent another (it has had no
    // reply to make room), so finding one already queued is the proof of
    // a client that does not. (One that arrives a moment later escapes
    // this check; a client that sends everything at once rarely manages
    // that five rounds in a row.) Then it answers them all.
    let fake = fake_udp_server();
    let addr = fake.local_addr().expect("addr");
    let server = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        for _round in 0..LINES / WINDOW {
            fake.set_nonblocking(false).expect("blocking");
            let mut held = Vec::new();
            for _ in 0..WINDOW {
                let (len, from) = fake.recv_from(&mut buf).expect("datagram");
                held.push((buf[..len].to_vec(), from));
            }
            fake.set_nonblocking(true).expect("non-blocking");
            if let Ok((len, _)) = fake.recv_from(&mut buf) {
                panic!(
                    "{:?} arrived with {WINDOW} unanswered",
                    String::from_utf8_lossy(&buf[..len])
                );
            }
            for (payload, to) in held {
                fake.send_to(&payload, to).expect("reply");
            }
        }
    });
    // --wait is long, so no datagram is given up on while the fake
    // server is merely slow to be scheduled.
    let out = client(
        &[
            "--udp",
            "--window",
            "4",
            "--wait",
            "2000",
            &addr.to_string(),
        ],
        numbered_lines(LINES),
    );
    let held = server.join();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(held.is_ok(), "the window was exceeded: {stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(out.stdout, numbered_lines(LINES));
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
