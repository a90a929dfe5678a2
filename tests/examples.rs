//! The "build the loop yourself" examples (`examples/e1_blocking.rs` to
//! `examples/e8_timers.rs`, and the executor of `examples/e9_async/`),
//! black-box: each binary is started on port 0 and checked by echoing
//! bytes through it with a real socket, and each step's claim (one client
//! at a time, two at once, idle clients closed, a flood does not starve
//! the others) is asserted.

mod common;
mod learning;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{connect, random_bytes, read_exact, read_to_end, round_trip};
use learning::{example_binary, run_with_input, Spawned};

/// Every step, in order.
const STEPS: [&str; 9] = [
    "e1_blocking",
    "e2_threads",
    "e3_busy_loop",
    "e4_mio",
    "e5_write_queue",
    "e6_tokens",
    "e7_read_budget",
    "e8_timers",
    "e9_async",
];

/// How long a second client of e1 is watched for an answer that must not
/// come. Generous next to a loopback round trip (microseconds); a failure
/// of the claim shows up as an answer, never as this wait running out.
const NOT_SERVED_WITHIN: Duration = Duration::from_millis(500);

/// Starts example `name` on port 0 with `args` after the address.
fn start(name: &str, args: &[&str]) -> Spawned {
    let mut command = Command::new(example_binary(name));
    command.arg("127.0.0.1:0").args(args);
    Spawned::start(command)
}

/// Sends `payload` from one thread while reading the echo on another, then
/// half-closes: the whole payload must come back, then end-of-file.
fn echo_then_half_close(stream: TcpStream, payload: Vec<u8>) -> Vec<u8> {
    let mut writer = stream.try_clone().expect("clone");
    let sending = thread::spawn(move || {
        writer.write_all(&payload).expect("send");
        writer.shutdown(Shutdown::Write).expect("half-close");
    });
    let mut reader = stream;
    let back = read_to_end(&mut reader);
    sending.join().expect("sender");
    back
}

#[test]
fn every_step_announces_its_real_port() {
    for name in STEPS {
        let server = start(name, &[]);
        assert!(
            server
                .ready_line
                .starts_with("listening on tcp://127.0.0.1:"),
            "{name}: {:?}",
            server.ready_line
        );
        assert_ne!(server.addr.port(), 0, "{name}");
    }
}

#[test]
fn every_step_echoes_two_megabytes_then_closes_after_a_half_close() {
    // 2 MiB overflows the socket buffers both ways, so every step meets
    // partial writes; the half-close checks that `Ok(0)` is the end of the
    // input, not of what the client is owed.
    for (seed, name) in STEPS.into_iter().enumerate() {
        let server = start(name, &[]);
        let payload = random_bytes(seed as u64, 2 * 1024 * 1024 + seed);
        let back = echo_then_half_close(connect(server.addr), payload.clone());
        assert!(
            back == payload,
            "{name}: {} of {} bytes came back, or they differ",
            back.len(),
            payload.len()
        );
    }
}

#[test]
fn step_1_does_not_serve_a_second_client_while_the_first_is_connected() {
    let server = start("e1_blocking", &[]);
    let mut first = connect(server.addr);
    round_trip(&mut first, b"first");
    // The second connects (the kernel completes the handshake from the
    // backlog) and sends, but nobody reads it.
    let mut second = connect(server.addr);
    second.write_all(b"second").expect("send");
    second
        .set_read_timeout(Some(NOT_SERVED_WITHIN))
        .expect("timeout");
    let mut buf = [0u8; 16];
    match second.read(&mut buf) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("e1 answered a second client while the first was connected: {other:?}"),
    }
    // Once the first leaves, the second is served: it waited, nothing lost.
    drop(first);
    second
        .set_read_timeout(Some(common::PATIENCE))
        .expect("timeout");
    assert_eq!(read_exact(&mut second, 6), b"second");
}

#[test]
fn steps_2_to_9_serve_two_clients_at_once() {
    for name in &STEPS[1..] {
        let server = start(name, &[]);
        let mut first = connect(server.addr);
        round_trip(&mut first, b"first, before");
        // The first stays connected and silent while the second is served.
        let mut second = connect(server.addr);
        round_trip(&mut second, b"second");
        round_trip(&mut first, b"first, after");
        round_trip(&mut second, b"second, after");
    }
}

#[test]
fn step_2_counts_a_thread_per_client() {
    let mut server = start("e2_threads", &[]);
    let mut first = connect(server.addr);
    round_trip(&mut first, b"1");
    let mut second = connect(server.addr);
    round_trip(&mut second, b"2");
    server.wait_for_log("(client threads: 2)");
}

#[test]
fn step_3_spins_while_nobody_sends() {
    let mut server = start("e3_busy_loop", &[]);
    // Its once-a-second report, with no client at all.
    let line = server.wait_for_log("passes over 0 clients");
    let passes: u64 = line
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {line:?}"));
    // A loop that slept would make one pass, or a few; this one makes
    // hundreds of thousands.
    assert!(passes > 1000, "{line}");
}

#[test]
fn steps_7_to_9_serve_a_second_client_while_one_floods() {
    // Step 9 runs both its echoes: the task budget holds for either.
    let runs: [(&str, &[&str]); 4] = [
        ("e7_read_budget", &[]),
        ("e8_timers", &[]),
        ("e9_async", &["async"]),
        ("e9_async", &["by-hand"]),
    ];
    for (name, args) in runs {
        let server = start(name, args);
        // The flood: 32 MiB sent as fast as the server takes it, echoed
        // back and drained on a thread of its own.
        let flood = connect(server.addr);
        let flooding = thread::spawn(move || {
            let payload = random_bytes(99, 32 * 1024 * 1024);
            let back = echo_then_half_close(flood, payload.clone());
            assert!(back == payload, "the flood came back altered");
        });
        let mut other = connect(server.addr);
        for i in 0..50u32 {
            round_trip(&mut other, format!("round trip {i}").as_bytes());
        }
        flooding.join().expect("flood");
    }
}

#[test]
fn step_8_closes_a_silent_client_and_keeps_an_active_one() {
    let server = start("e8_timers", &["0.5"]);
    let started = Instant::now();
    let mut silent = connect(server.addr);
    let (closed_tx, closed_rx) = mpsc::channel();
    let watching = thread::spawn(move || {
        let mut buf = [0u8; 1];
        let outcome = silent.read(&mut buf);
        let _ = closed_tx.send(());
        outcome.map(|n| (n, started.elapsed()))
    });
    // The active one keeps talking until the silent one is closed: its own
    // first deadline passes meanwhile, and must be moved, not fired.
    let mut active = connect(server.addr);
    let mut round_trips = 0;
    while closed_rx.try_recv().is_err() {
        round_trip(&mut active, b"still here");
        round_trips += 1;
        assert!(
            started.elapsed() < common::PATIENCE,
            "silent client never closed"
        );
    }
    let (n, after) = watching.join().expect("watcher").expect("read");
    assert_eq!(n, 0, "the silent client should read end-of-file");
    assert!(
        after >= Duration::from_millis(450),
        "closed too early: {after:?}"
    );
    round_trip(&mut active, b"and after");
    assert!(round_trips > 0);
}

#[test]
fn step_9_runs_the_async_fn_and_the_hand_written_machine_alike() {
    for (seed, flavour) in [(7, "async fn"), (8, "by-hand")] {
        let argument = flavour.replace(" fn", "");
        let mut server = start("e9_async", &[&argument]);
        let payload = random_bytes(seed, 1024 * 1024 + 3);
        let back = echo_then_half_close(connect(server.addr), payload.clone());
        assert!(back == payload, "{flavour}: the echo came back altered");
        // Each says which machine serves the client, and how big it is:
        // the buffer it keeps across `.await`s, and a little more.
        let line = server.wait_for_log(&format!("({flavour} echo, a future of "));
        let bytes: usize = line
            .rsplit("a future of ")
            .next()
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no size in {line:?}"));
        assert!((4096..4096 + 512).contains(&bytes), "{line}");
        server.wait_for_log("closed");
    }
}

#[test]
fn step_9_makes_a_flooding_task_give_way_and_a_quiet_one_not() {
    for flavour in ["async", "by-hand"] {
        let mut server = start("e9_async", &[flavour]);
        let quiet = connect(server.addr);
        let quiet_port = quiet.local_addr().expect("address").port();
        let mut quiet = quiet;
        round_trip(&mut quiet, b"one message, then silence");
        // 8 MiB sent while the echo is read: the server's socket has input
        // and room for output long enough to spend the budget many times.
        let flood = connect(server.addr);
        let flood_port = flood.local_addr().expect("address").port();
        let payload = random_bytes(97, 8 * 1024 * 1024);
        assert!(echo_then_half_close(flood, payload.clone()) == payload);
        drop(quiet);
        let count = |server: &mut Spawned, port: u16| -> u64 {
            let line = server.wait_for_log(&format!("127.0.0.1:{port}: closed ("));
            line.rsplit("budget spent ")
                .next()
                .and_then(|rest| rest.split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no count in {line:?}"))
        };
        assert!(
            count(&mut server, flood_port) > 0,
            "{flavour}: the flood never gave way"
        );
        assert_eq!(count(&mut server, quiet_port), 0, "{flavour}");
    }
}

#[test]
fn step_9_refuses_an_unknown_echo_with_one_error_line() {
    let mut command = Command::new(example_binary("e9_async"));
    command.args(["127.0.0.1:0", "threads"]);
    let output = run_with_input(command, b"");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: \"threads\" is not an echo"),
        "{stderr}"
    );
}

#[test]
fn steps_report_a_bad_address_as_one_error_line() {
    for name in STEPS {
        let mut command = Command::new(example_binary(name));
        command.arg("not-an-address");
        let output = run_with_input(command, b"");
        assert_eq!(output.status.code(), Some(1), "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with("error: "), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        assert!(output.stdout.is_empty(), "{name}");
    }
}
