//! `reactor load --mode socketio`, black-box: against `reactor chat --web`,
//! against a Socket.IO server that welcomes members and relays nothing,
//! and against a server that is not Socket.IO at all. Each run is one
//! second with no warm-up.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

use common::*;
use reactor::proto::web::frame::{encode_text, Event, FrameDecoder, Role};
use reactor::proto::web::handshake::accept_key;
use reactor::proto::web::socketio::{websocket_event, ServerEvent};
use serde_json::Value;

/// Runs `reactor load ADDR --mode socketio ARGS --json --duration 1
/// --warmup 0`; returns the exit code, the report (if any) and stderr.
fn load(addr: SocketAddr, args: &[&str]) -> (Option<i32>, Option<Value>, String) {
    let addr = addr.to_string();
    let mut full = vec![
        "load",
        &addr,
        "--mode",
        "socketio",
        "--json",
        "--duration",
        "1",
        "--warmup",
        "0",
    ];
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

/// The web address of a `reactor chat --web` started with `args`.
fn web_address(server: &Server) -> SocketAddr {
    server.web.expect("an http:// readiness line")
}

#[test]
fn every_message_reaches_every_other_member_over_socketio() {
    let chat = Server::start_web(&[]);
    let (code, report, stderr) = load(
        web_address(&chat),
        &["--connections", "4", "--publishers", "2", "--rate", "200"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let report = report.expect("a JSON report on stdout");
    assert_eq!(number(&report, &["errors", "total"]), 0, "{report}");
    assert_eq!(number(&report, &["publishers"]), 2, "{report}");
    assert_eq!(
        number(&report, &["connected"]),
        4,
        "every member joined: {report}"
    );
    // 200 messages published in the second, each delivered to the 3 other
    // members: 600 at most (fewer if a member joined after the first).
    let ops = number(&report, &["ops"]);
    assert!((300..=600).contains(&ops), "{ops} deliveries: {report}");
    let p50 = number(&report, &["latency_us", "p50"]);
    assert!(p50 > 0 && p50 <= number(&report, &["latency_us", "max"]));
}

#[test]
fn members_answer_the_servers_pings_and_stay() {
    // A ping every 100 ms, 200 ms to answer it: about twenty in a run, and
    // a member that missed one would be dropped (a reset) within 300 ms.
    let chat = Server::start_web(&["--ping-interval", "100", "--ping-timeout", "200"]);
    let (code, report, stderr) = load(web_address(&chat), &["--connections", "3", "--rate", "30"]);
    assert_eq!(code, Some(0), "{stderr}");
    let report = report.expect("a JSON report on stdout");
    assert_eq!(number(&report, &["errors", "total"]), 0, "{report}");
    assert!(number(&report, &["ops"]) > 0, "{report}");
}

/// A Socket.IO server that does everything a member needs to join (the
/// upgrade, the open packet, the connect, the welcome) and then relays
/// nothing: a std::net fixture, a thread per connection.
fn silent_socketio_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            std::thread::spawn(move || {
                let _ = welcome_and_ignore(stream);
            });
        }
    });
    addr
}

fn welcome_and_ignore(mut stream: TcpStream) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
        stream.read_exact(&mut byte)?;
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let key = head
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap_or_default();
    let mut out = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key.as_bytes())
    )
    .into_bytes();
    encode_text(
        &mut out,
        r#"0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#,
    );
    stream.write_all(&out)?;
    let mut decoder = FrameDecoder::new(Role::Server, 1 << 20);
    let mut buf = vec![0; 4096];
    let mut pending = Vec::new();
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        pending.extend_from_slice(&buf[..n]);
        let mut reply = Vec::new();
        loop {
            let (used, event) = decoder.decode(&pending);
            let connect = matches!(event, Ok(Some(Event::Text("40"))));
            pending.drain(..used);
            if connect {
                encode_text(&mut reply, r#"40{"sid":"x"}"#);
                reply.extend(websocket_event(&ServerEvent::Notice {
                    text: "welcome guest-1, you are in #lobby",
                }));
            }
            if used == 0 || pending.is_empty() {
                break;
            }
        }
        stream.write_all(&reply)?;
    }
}

#[test]
fn a_server_that_relays_nothing_fails_the_run() {
    let addr = silent_socketio_server();
    let (code, report, stderr) = load(addr, &["--connections", "3", "--rate", "100"]);
    assert_eq!(code, Some(1), "{stderr}");
    let report = report.expect("a JSON report on stdout");
    assert_eq!(number(&report, &["ops"]), 0, "{report}");
    // Each member heard nothing while the others published.
    assert_eq!(number(&report, &["errors", "lost"]), 3, "{report}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("error:") && l.contains("3 lost")),
        "{stderr}"
    );
}

#[test]
fn a_server_that_is_not_socketio_is_one_error_line() {
    // The chat's line port, not its web port: a common slip.
    let server = Server::start(&["chat"]);
    let (code, _, stderr) = load(server.addr, &["--connections", "2", "--rate", "10"]);
    assert_eq!(code, Some(1), "{stderr}");
    let errors: Vec<_> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains(&server.addr.to_string()) && errors[0].contains("web address"),
        "{stderr}"
    );
}

#[test]
fn publishers_need_a_fan_out_mode_and_no_more_than_the_members() {
    let (status, _, stderr) =
        run_to_exit(&["load", "127.0.0.1:0", "--mode", "echo", "--publishers", "2"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--publishers"), "{stderr}");
    let (status, _, stderr) = run_to_exit(&[
        "load",
        "127.0.0.1:0",
        "--mode",
        "socketio",
        "--rate",
        "10",
        "--connections",
        "2",
        "--publishers",
        "3",
    ]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--publishers 3"), "{stderr}");
    let (status, _, stderr) = run_to_exit(&["load", "127.0.0.1:0", "--mode", "socketio"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--rate"), "{stderr}");
}
