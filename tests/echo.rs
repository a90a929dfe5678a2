//! `reactor echo`, black-box over loopback (`docs/reference.md`).

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use common::*;

#[test]
fn readiness_line_names_the_real_port() {
    let server = Server::start(&["echo"]);
    assert!(server
        .ready_line
        .starts_with("listening on tcp://127.0.0.1:"));
    assert_ne!(server.addr.port(), 0);
}

#[test]
fn fifty_concurrent_clients_get_their_own_bytes_back() {
    let server = Server::start(&["echo"]);
    let clients: Vec<_> = (0..50u64)
        .map(|i| {
            let addr = server.addr;
            // 1 B up to 4 MiB: the large ones overflow the socket buffers,
            // so the server sees partial writes and queues.
            let size = match i % 5 {
                0 => 1,
                1 => 1 + (i as usize * 37) % 1000,
                2 => 64 * 1024 + i as usize,
                3 => 1024 * 1024 - i as usize,
                _ => 4 * 1024 * 1024 - (i as usize % 3),
            };
            thread::spawn(move || {
                let payload = random_bytes(i, size);
                let mut stream = connect(addr);
                let mut reader = stream.try_clone().expect("clone");
                let expected = payload.clone();
                let receiving = thread::spawn(move || {
                    let mut back = vec![0; expected.len()];
                    reader.read_exact(&mut back).expect("echo back");
                    assert!(back == expected, "client {i}: bytes differ");
                });
                stream.write_all(&payload).expect("send");
                receiving.join().expect("receiver");
            })
        })
        .collect();
    for client in clients {
        client.join().expect("client");
    }
}

#[test]
fn half_close_gets_everything_then_end_of_file() {
    let server = Server::start(&["echo"]);
    let mut stream = server.connect();
    let payload = random_bytes(7, 300_000);
    let mut writer = stream.try_clone().expect("clone");
    let sent = payload.clone();
    let sending = thread::spawn(move || {
        writer.write_all(&sent).expect("send");
        writer.shutdown(Shutdown::Write).expect("half-close");
    });
    let back = read_to_end(&mut stream);
    sending.join().expect("sender");
    assert!(
        back == payload,
        "got {} of {} bytes",
        back.len(),
        payload.len()
    );
}

#[test]
fn a_client_that_never_reads_stalls_only_itself_and_memory_stays_bounded() {
    let mut server = Server::start(&["echo", "-v", "--max-outbuf", "1048576"]);
    let baseline_kib = server.rss_kib();

    // The hog pushes 64 MiB and reads nothing until told to.
    const TOTAL: usize = 64 * 1024 * 1024;
    let hog = server.connect();
    let mut hog_writer = hog.try_clone().expect("clone");
    let written = Arc::new(AtomicUsize::new(0));
    let progress = Arc::clone(&written);
    let pushing = thread::spawn(move || {
        let chunk = random_bytes(99, 64 * 1024);
        for _ in 0..TOTAL / chunk.len() {
            hog_writer.write_all(&chunk).expect("hog write");
            progress.fetch_add(chunk.len(), Ordering::SeqCst);
        }
    });

    // The server says when it stops reading the hog (backpressure).
    server.wait_for_log("paused");

    // Meanwhile another client is served as usual.
    let mut other = server.connect();
    for i in 0..100u64 {
        round_trip(&mut other, &random_bytes(i, 64));
    }

    // The server holds at most about --max-outbuf for the hog, not 64 MiB.
    let grown_kib = server.rss_kib().saturating_sub(baseline_kib);
    assert!(grown_kib < 16 * 1024, "server RSS grew by {grown_kib} KiB");
    assert!(
        written.load(Ordering::SeqCst) < TOTAL,
        "nothing held the hog back"
    );

    // Once the hog reads, everything comes back, exactly.
    let mut hog_reader = hog;
    let expected_chunk = random_bytes(99, 64 * 1024);
    let mut buf = vec![0; expected_chunk.len()];
    for _ in 0..TOTAL / buf.len() {
        hog_reader.read_exact(&mut buf).expect("hog read");
        assert!(buf == expected_chunk, "hog's bytes differ");
    }
    pushing.join().expect("pusher");
    let grown_kib = server.rss_kib().saturating_sub(baseline_kib);
    assert!(grown_kib < 16 * 1024, "server RSS grew by {grown_kib} KiB");
}

#[test]
fn max_conns_closes_the_extra_connection_and_keeps_the_others() {
    let mut server = Server::start(&["echo", "--max-conns", "2"]);
    let mut first = server.connect();
    let mut second = server.connect();
    round_trip(&mut first, b"one");
    round_trip(&mut second, b"two");

    let mut third = server.connect();
    assert_eq!(
        read_to_end(&mut third),
        b"",
        "third connection is closed at once"
    );
    server.wait_for_log("--max-conns 2 reached");
    round_trip(&mut first, b"still here");

    // A freed slot is usable again.
    drop(second);
    let mut retry = 0;
    loop {
        let mut next = server.connect();
        next.write_all(b"x").expect("write");
        let mut byte = [0u8; 1];
        match next.read(&mut byte) {
            Ok(1) => break,
            // Refused: the close of `second` was not processed yet.
            _ => retry += 1,
        }
        assert!(retry < 1000, "slot never freed");
    }
}

#[test]
fn idle_connections_are_closed_and_busy_ones_kept() {
    let server = Server::start(&["echo", "--idle-timeout", "1"]);
    let mut idle = server.connect();
    let mut busy = server.connect();
    let started = std::time::Instant::now();
    let idle_closed = std::thread::spawn(move || {
        let eof = read_to_end(&mut idle).is_empty();
        (eof, started.elapsed())
    });
    // The busy client echoes a byte every 300 ms for 2.4 s, more than twice
    // the timeout (the sleep paces the traffic; it synchronises nothing).
    for _ in 0..8 {
        busy.write_all(b"x").expect("write");
        assert_eq!(read_exact(&mut busy, 1), b"x", "busy client still served");
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let (eof, waited) = idle_closed.join().expect("reader thread");
    assert!(eof, "the idle client got bytes it never sent");
    assert!(
        waited.as_millis() >= 900 && waited.as_millis() < 2500,
        "idle client closed after {waited:?}, timeout 1 s"
    );
}

#[test]
fn a_peer_that_stops_reading_is_freed_by_the_idle_timeout() {
    let mut server = Server::start(&["echo", "-v", "--idle-timeout", "1", "--max-outbuf", "65536"]);
    let stuck = server.connect();
    stuck.set_nonblocking(true).expect("nonblocking");
    // Send until the kernel takes no more: the server's queue is full and
    // it has paused reading, so from here on no byte moves either way.
    let chunk = vec![b'y'; 65536];
    let mut sent = 0;
    while let Ok(n) = (&stuck).write(&chunk) {
        sent += n;
        assert!(sent < 256 * 1024 * 1024, "the server never pushed back");
    }
    let started = std::time::Instant::now();
    server.wait_for_log("closed: idle timeout");
    let waited = started.elapsed();
    // Idle after 1 s, then at most the 2 s a close may take to flush.
    assert!(waited.as_secs_f64() < 5.0, "freed only after {waited:?}");
    drop(stuck);
}

#[test]
fn sigterm_flushes_queued_output_and_exits_zero() {
    let mut server = Server::start(&["echo", "-v", "--max-outbuf", "262144"]);
    let client = server.connect();
    let mut writer = client.try_clone().expect("clone");
    let payload = random_bytes(5, 8 * 1024 * 1024);
    let sent = payload.clone();
    let pushing = thread::spawn(move || {
        // The server stops reading once 256 KiB are queued; this write ends
        // with an error when the server closes after shutdown.
        let _ = writer.write_all(&sent);
    });
    let paused = server.wait_for_log("paused");
    let queued: usize = paused
        .split("paused: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("queued bytes in the pause line");
    server.signal("TERM");
    server.wait_for_log("shutting down");

    let mut reader = client;
    let back = read_to_end(&mut reader);
    assert!(
        back.len() >= queued,
        "got {} of {queued} queued bytes",
        back.len()
    );
    assert!(back[..] == payload[..back.len()], "flushed bytes differ");
    let _ = pushing.join();

    let (status, log) = server.wait_exit();
    assert_eq!(status.code(), Some(0), "log: {log:#?}");
    let summary = log
        .iter()
        .find(|l| l.contains("stopped after"))
        .unwrap_or_else(|| panic!("no summary in {log:#?}"));
    // Everything echo was handed, it sent back, and the client got it all:
    // the queue was flushed, not dropped. What the close read and dropped
    // (the rest of the client's 8 MiB) is counted apart.
    let read = log_counter(summary, "bytes_in");
    let discarded = log_counter_or_zero(summary, "discarded");
    assert_eq!(
        log_counter(summary, "bytes_out"),
        read - discarded,
        "{summary}"
    );
    assert_eq!(back.len() as u64, read - discarded, "{summary}");
}

#[test]
fn a_busy_port_is_one_error_line_and_exit_one() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let (status, stdout, stderr) = run_to_exit(&["echo", "--bind", &addr]);
    assert_eq!(status.code(), Some(1));
    assert_eq!(stdout, "");
    let errors: Vec<_> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].starts_with(&format!("error: cannot bind {addr}: ")),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn usage_errors_exit_two_and_name_the_option() {
    for (args, option) in [
        (&["echo", "--max-conns", "-5"][..], "--max-conns"),
        (&["echo", "--bind", "not-an-address"], "--bind"),
        (&["echo", "--idle-timeout", "x"], "--idle-timeout"),
    ] {
        let (status, _, stderr) = run_to_exit(args);
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error:"), "{stderr}");
        assert!(stderr.contains(option), "{args:?}: {stderr}");
    }
}

#[test]
fn ipv6_readiness_line_uses_brackets() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here; skipping");
        return;
    }
    let server = Server::start(&["echo", "--bind", "[::1]:0"]);
    assert!(
        server.ready_line.starts_with("listening on tcp://[::1]:"),
        "{}",
        server.ready_line
    );
    let mut stream = server.connect();
    round_trip(&mut stream, b"over IPv6");
}

#[test]
fn out_of_descriptors_pauses_accepting_and_recovers() {
    // A hard limit of 32 descriptors: a few for the loop itself, the rest
    // for connections. 40 clients cannot all be accepted at once.
    let mut server = Server::start_after("ulimit -n 32", &["echo"]);
    let mut clients: Vec<_> = (0..40).map(|_| server.connect()).collect();
    server.wait_for_log("out of file descriptors");

    // The accepted ones are served meanwhile.
    round_trip(&mut clients[0], b"served while out of descriptors");

    // Free 20 descriptors; every waiting client gets accepted and served.
    let waiting = clients.split_off(20);
    drop(clients);
    for (i, mut client) in waiting.into_iter().enumerate() {
        round_trip(&mut client, format!("late client {i}").as_bytes());
    }
}

#[test]
fn stats_interval_logs_the_counters() {
    let mut server = Server::start(&["echo", "--stats-interval", "1"]);
    let mut client = server.connect();
    round_trip(&mut client, b"count me");
    let line = server.wait_for_log("stats: accepted=1 open=1");
    assert!(line.contains("bytes_in=8 bytes_out=8"), "{line}");
    assert!(line.contains(" INFO "), "{line}");
}

#[test]
fn trace_narrates_each_turn() {
    let mut server = Server::start(&["echo", "--trace"]);
    let mut client = server.connect();
    round_trip(&mut client, b"hello");
    server.wait_for_log("poll woke: ");
    // The first connection takes slot 0, generation 1: its token shows both
    // (`docs/02-growing-the-loop.md` explains the layout).
    let accepted = server.wait_for_log("accepted 127.0.0.1:");
    assert!(
        accepted.contains(" listener 0 (token 0x2) readable -> ")
            && accepted.ends_with(" as conn 0 (token 0x1_0000_0000)"),
        "{accepted}"
    );
    let line = server.wait_for_log("readable -> read 5 B, wrote 5 B");
    assert!(line.contains("TRACE"), "{line}");
    assert!(
        line.contains(" conn 0 (token 0x1_0000_0000) readable -> read 5 B, wrote 5 B, queued 0 B -> interest R (Open)"),
        "{line}"
    );
}

#[test]
fn trace_does_not_lift_quiet_for_other_lines() {
    let mut server = Server::start(&["-qq", "echo", "--trace"]);
    let mut client = server.connect();
    round_trip(&mut client, b"quiet");
    drop(client);
    server.wait_for_log("-> closed");
    server.signal("TERM");
    let (status, log) = server.wait_exit();
    assert_eq!(status.code(), Some(0));
    // Narration only: no debug line per connection, no info summary.
    assert!(log.iter().all(|l| l.contains("TRACE")), "{log:#?}");
}
