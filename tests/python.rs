//! The Python twins of the examples (`examples/python/`), run with the
//! system `python3`: every server is driven by `reactor load` (exit 0 means
//! every byte came back verified) and by `reactor client`; every client is
//! run against `reactor echo`. Without python3 3.9+ each test says what it
//! skipped and passes, unless `REACTOR_REQUIRE_TOOLS=1`.

mod common;
mod learning;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant};

use common::{connect, random_bytes, read_exact, read_to_end, round_trip, Server};
use learning::{python3, python_script, run_with_input, Spawned};

/// The echo servers, each with the options that make it serve several
/// clients at once (the blocking one only does so with `--threads`).
const CONCURRENT_SERVERS: [&[&str]; 4] = [
    &["blocking_echo_server.py", "--threads"],
    &["selectors_echo.py"],
    &["asyncio_protocol_echo.py"],
    &["asyncio_sock_echo.py"],
];

/// What `reactor client` and the Python clients send: two lines, one of
/// them not ASCII.
const LINES: &[u8] = "hello\n你好\n".as_bytes();

/// As in `tests/examples.rs`: how long a second client of the one-at-a-time
/// server is watched for an answer that must not come.
const NOT_SERVED_WITHIN: Duration = Duration::from_millis(500);

/// Starts `examples/python/SCRIPT ARGS --bind 127.0.0.1:0`.
fn start_script(mut python: Command, script_and_args: &[&str]) -> Spawned {
    let (script, args) = script_and_args.split_first().expect("a script");
    python
        .arg(python_script(script))
        .args(args)
        .args(["--bind", "127.0.0.1:0"]);
    Spawned::start(python)
}

/// Runs the `reactor` binary with `args`, bounded.
fn reactor(args: &[&str], input: &[u8]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_reactor"));
    command.args(args);
    run_with_input(command, input)
}

/// Runs `examples/python/SCRIPT ARGS`, bounded.
fn run_script(mut python: Command, script: &str, args: &[&str], input: &[u8]) -> Output {
    python.arg(python_script(script)).args(args);
    run_with_input(python, input)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn python_servers_pass_reactor_load_with_four_connections() {
    let Some(python) = python3() else {
        return;
    };
    for server_args in CONCURRENT_SERVERS {
        let server = start_script(python.command(), server_args);
        let addr = server.addr.to_string();
        let output = reactor(
            &[
                "load",
                &addr,
                "--mode",
                "echo",
                "--connections",
                "4",
                "--duration",
                "1",
                "--warmup",
                "0",
            ],
            b"",
        );
        assert!(
            output.status.success(),
            "{server_args:?}: reactor load failed\n{}\n{}",
            text(&output.stdout),
            text(&output.stderr)
        );
    }
}

#[test]
fn python_servers_answer_reactor_client() {
    let Some(python) = python3() else {
        return;
    };
    let one_at_a_time: &[&str] = &["blocking_echo_server.py"];
    for server_args in CONCURRENT_SERVERS.into_iter().chain([one_at_a_time]) {
        let server = start_script(python.command(), server_args);
        // At the end of stdin the client half-closes; it exits 0 once the
        // server has sent everything back and closed.
        let output = reactor(&["client", &server.addr.to_string()], LINES);
        assert!(
            output.status.success(),
            "{server_args:?}: {}",
            text(&output.stderr)
        );
        assert_eq!(text(&output.stdout), text(LINES), "{server_args:?}");
    }
}

#[test]
fn python_blocking_server_serves_one_client_at_a_time_unless_threaded() {
    let Some(python) = python3() else {
        return;
    };
    let server = start_script(python.command(), &["blocking_echo_server.py"]);
    let mut first = connect(server.addr);
    round_trip(&mut first, b"first");
    let mut second = connect(server.addr);
    second.write_all(b"second").expect("send");
    second
        .set_read_timeout(Some(NOT_SERVED_WITHIN))
        .expect("timeout");
    let mut buf = [0u8; 16];
    match second.read(&mut buf) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("answered a second client while the first was connected: {other:?}"),
    }
    drop(first);
    second
        .set_read_timeout(Some(common::PATIENCE))
        .expect("timeout");
    assert_eq!(read_exact(&mut second, 6), b"second");

    // With --threads, the second is served while the first stays.
    let threaded = start_script(python.command(), &["blocking_echo_server.py", "--threads"]);
    let mut first = connect(threaded.addr);
    round_trip(&mut first, b"first");
    let mut second = connect(threaded.addr);
    round_trip(&mut second, b"second");
    round_trip(&mut first, b"first, after");
}

#[test]
fn python_servers_echo_two_megabytes_then_close_after_a_half_close() {
    let Some(python) = python3() else {
        return;
    };
    for (seed, server_args) in CONCURRENT_SERVERS.into_iter().enumerate() {
        let server = start_script(python.command(), server_args);
        let payload = random_bytes(seed as u64, 2 * 1024 * 1024 + seed);
        let mut stream = connect(server.addr);
        let mut writer = stream.try_clone().expect("clone");
        let sent = payload.clone();
        let sending = thread::spawn(move || {
            writer.write_all(&sent).expect("send");
            writer
                .shutdown(std::net::Shutdown::Write)
                .expect("half-close");
        });
        let back = read_to_end(&mut stream);
        sending.join().expect("sender");
        assert!(
            back == payload,
            "{server_args:?}: {} bytes back",
            back.len()
        );
    }
}

#[test]
fn python_asyncio_server_pauses_reading_for_a_client_that_does_not_read() {
    let Some(python) = python3() else {
        return;
    };
    let mut server = start_script(python.command(), &["asyncio_protocol_echo.py"]);
    let mut stream = connect(server.addr);
    let payload = random_bytes(7, 8 * 1024 * 1024);
    let mut writer = stream.try_clone().expect("clone");
    let sent = payload.clone();
    // Nobody reads the echo yet: the server's buffer passes its high-water
    // mark, pause_writing() pauses reading, and this write stalls.
    let sending = thread::spawn(move || {
        writer.write_all(&sent).expect("send");
        writer
            .shutdown(std::net::Shutdown::Write)
            .expect("half-close");
    });
    server.wait_for_log("reading paused");
    // Reading now drains the buffer; resume_writing() resumes reading.
    let back = read_to_end(&mut stream);
    sending.join().expect("sender");
    assert!(back == payload, "{} bytes back", back.len());
    server.wait_for_log("reading resumed");
}

#[test]
fn python_asyncio_server_closes_an_idle_client() {
    let Some(python) = python3() else {
        return;
    };
    let mut command = python.command();
    command
        .arg(python_script("asyncio_protocol_echo.py"))
        .args(["--bind", "127.0.0.1:0", "--idle-timeout", "0.5"]);
    let mut server = Spawned::start(command);
    let started = Instant::now();
    let mut silent = connect(server.addr);
    let mut buf = [0u8; 1];
    assert_eq!(silent.read(&mut buf).expect("read"), 0, "end-of-file");
    assert!(started.elapsed() >= Duration::from_millis(450));
    server.wait_for_log("closed: idle for 0.5 s");
}

#[test]
fn python_selectors_fd_reuse_shows_a_number_reused_and_a_stale_event_dropped() {
    let Some(python) = python3() else {
        return;
    };
    let output = run_script(
        python.command(),
        "selectors_fd_reuse.py",
        &["--bind", "127.0.0.1:0"],
        b"",
    );
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", text(&output.stderr));
    let first = stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("listening on tcp://127.0.0.1:"),
        "{stdout}"
    );
    assert!(stdout.contains("the number was reused"), "{stdout}");
    assert!(stdout.contains("B inherits A's state"), "{stdout}");
    assert!(stdout.contains("is already registered"), "{stdout}");
    assert!(stdout.contains("is dropped"), "{stdout}");
}

#[test]
fn python_clients_talk_to_reactor_echo() {
    let Some(python) = python3() else {
        return;
    };
    let server = Server::start(&["echo"]);
    let addr = server.addr.to_string();

    let blocking = run_script(
        python.command(),
        "blocking_echo_client.py",
        &[&addr, "hello", "你好"],
        b"",
    );
    assert!(blocking.status.success(), "{}", text(&blocking.stderr));
    assert_eq!(text(&blocking.stdout), "received: hello\nreceived: 你好\n");

    let streams_args = run_script(
        python.command(),
        "asyncio_streams_client.py",
        &[&addr, "hello", "你好"],
        b"",
    );
    assert!(
        streams_args.status.success(),
        "{}",
        text(&streams_args.stderr)
    );
    assert_eq!(streams_args.stdout, LINES);

    let streams_stdin = run_script(
        python.command(),
        "asyncio_streams_client.py",
        &[&addr],
        LINES,
    );
    assert!(
        streams_stdin.status.success(),
        "{}",
        text(&streams_stdin.stderr)
    );
    assert_eq!(streams_stdin.stdout, LINES);
}

/// An address nobody listens on: a port the kernel just handed out and
/// took back.
fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

#[test]
fn python_clients_report_a_refused_connection() {
    let Some(python) = python3() else {
        return;
    };
    let addr = closed_port().to_string();
    for script in ["blocking_echo_client.py", "asyncio_streams_client.py"] {
        let output = run_script(python.command(), script, &[&addr, "hi"], b"");
        assert_eq!(output.status.code(), Some(1), "{script}");
        let stderr = text(&output.stderr);
        assert!(
            stderr.starts_with(&format!("error: connection refused by {addr}")),
            "{script}: {stderr}"
        );
    }
}

#[test]
fn python_clients_report_a_server_that_never_answers() {
    let Some(python) = python3() else {
        return;
    };
    // Listening but never accepting: the kernel completes the handshake,
    // nobody ever reads or answers.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = silent.local_addr().expect("addr").to_string();
    for script in ["blocking_echo_client.py", "asyncio_streams_client.py"] {
        let args = [addr.as_str(), "hi", "--timeout", "0.3"];
        let output = run_script(python.command(), script, &args, b"");
        assert_eq!(output.status.code(), Some(1), "{script}");
        let stderr = text(&output.stderr);
        assert!(
            stderr.starts_with(&format!("error: no answer from {addr} within 0.3 s")),
            "{script}: {stderr}"
        );
    }
    drop(silent);
}
