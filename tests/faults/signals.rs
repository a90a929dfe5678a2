//! Signals under load. SIGTERM and SIGINT stop the server gracefully: no
//! output already queued is lost, which the summary line lets us check to
//! the byte (`bytes_in - discarded` is what echo was handed, `bytes_out`
//! what it sent). `--shutdown-timeout` bounds the flushing when a peer
//! never reads; a second signal does not wait at all.

use std::io::Write;
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::support::*;

/// A client that sends `size` random bytes on a thread and never reads
/// until told to; returns the stream (to read from) and the sender.
fn pusher(server: &Server, seed: u64, size: usize) -> (TcpStream, thread::JoinHandle<()>) {
    // A small window keeps the echo in the server's queue, where the
    // shutdown must flush it, rather than in the kernel's buffers.
    let stream = connect_small_window(server.addr);
    let mut writer = stream.try_clone().expect("clone");
    let sending = thread::spawn(move || {
        // Ends with an error once the server closes after shutdown.
        let _ = writer.write_all(&random_bytes(seed, size));
    });
    (stream, sending)
}

/// The summary line and the exit code of a stopped server.
fn summary_of(server: Server) -> (Option<i32>, String) {
    let (status, log) = server.wait_exit();
    let summary = log
        .iter()
        .find(|l| l.contains("stopped after"))
        .unwrap_or_else(|| panic!("no summary in {log:#?}"))
        .clone();
    (status.code(), summary)
}

#[test]
fn sigterm_under_load_loses_no_queued_output() {
    let mut server = Server::start(&["echo", "-v", "--max-outbuf", "262144"]);
    // Twelve clients send 4 MiB each. Half read as they go; the other
    // half read nothing until the server is shutting down, so their
    // queues are full when the signal comes.
    let clients: Vec<_> = (0..12).map(|i| (i, pusher(&server, i, 4 << 20))).collect();
    let (mut readers, mut deferred, mut senders) = (Vec::new(), Vec::new(), Vec::new());
    for (i, (stream, sending)) in clients {
        senders.push(sending);
        let payload = random_bytes(i, 4 << 20);
        let read_all = move |mut stream: TcpStream| {
            let back = read_to_end(&mut stream);
            assert!(
                back[..] == payload[..back.len()],
                "client {i}: bytes differ"
            );
            back.len() as u64
        };
        if i % 2 == 0 {
            readers.push(thread::spawn(move || read_all(stream)));
        } else {
            deferred.push((stream, read_all));
        }
    }
    server.wait_for_log("paused");
    server.signal("TERM");
    server.wait_for_log("shutting down");
    for (stream, read_all) in deferred {
        readers.push(thread::spawn(move || read_all(stream)));
    }
    let received: u64 = readers.into_iter().map(|r| r.join().expect("reader")).sum();
    for sending in senders {
        let _ = sending.join();
    }
    let (code, summary) = summary_of(server);
    assert_eq!(code, Some(0), "{summary}");
    let handed = log_counter(&summary, "bytes_in") - log_counter_or_zero(&summary, "discarded");
    assert_eq!(log_counter(&summary, "bytes_out"), handed, "{summary}");
    assert_eq!(received, handed, "what the clients got: {summary}");
}

/// Starts echo with a client whose queue is full and who never reads, so
/// a graceful shutdown has something it cannot finish; returns the server
/// (its first signal already handled) and the stuck client.
fn stuck_in_shutdown(first: &str, shutdown_timeout: &str) -> (Server, TcpStream) {
    let mut server = Server::start(&[
        "echo",
        "-v",
        "--max-outbuf",
        "65536",
        "--shutdown-timeout",
        shutdown_timeout,
    ]);
    let (stuck, _sending) = pusher(&server, 1, 64 << 20);
    server.wait_for_log("paused");
    server.signal(first);
    server.wait_for_log("shutting down");
    (server, stuck)
}

#[test]
fn a_second_sigterm_exits_at_once_with_status_143() {
    let (mut server, _stuck) = stuck_in_shutdown("TERM", "60");
    let signalled = Instant::now();
    server.signal("TERM");
    server.wait_for_log("second signal (SIGTERM)");
    let (status, log) = server.wait_exit();
    assert!(signalled.elapsed() < secs(2.0), "{:?}", signalled.elapsed());
    assert_eq!(status.code(), Some(128 + 15), "{log:#?}");
}

#[test]
fn a_second_sigint_exits_at_once_with_status_130() {
    let (mut server, _stuck) = stuck_in_shutdown("INT", "60");
    let signalled = Instant::now();
    server.signal("INT");
    server.wait_for_log("second signal (SIGINT)");
    let (status, log) = server.wait_exit();
    assert!(signalled.elapsed() < secs(2.0), "{:?}", signalled.elapsed());
    assert_eq!(status.code(), Some(128 + 2), "{log:#?}");
}

#[test]
fn sigint_is_a_graceful_shutdown_like_sigterm() {
    let mut server = Server::start(&["echo", "-v", "--max-outbuf", "65536"]);
    let (mut stream, sending) = pusher(&server, 2, 8 << 20);
    server.wait_for_log("paused");
    server.signal("INT");
    server.wait_for_log("SIGINT: shutting down");
    let back = read_to_end(&mut stream);
    let _ = sending.join();
    let (code, summary) = summary_of(server);
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(
        back.len() as u64,
        log_counter(&summary, "bytes_out"),
        "{summary}"
    );
    assert!(back[..] == random_bytes(2, 8 << 20)[..back.len()]);
}

#[test]
fn shutdown_timeout_drops_a_peer_that_never_reads() {
    let (mut server, _stuck) = stuck_in_shutdown("TERM", "1");
    let signalled = Instant::now();
    server.wait_for_log("shutdown timeout: dropping 1 connections");
    let (code, summary) = summary_of(server);
    let waited = signalled.elapsed();
    assert_eq!(code, Some(0), "{summary}");
    // The signal was sent just before `signalled`: at least most of the
    // second, and not much more.
    assert!(
        waited >= Duration::from_millis(800) && waited < secs(3.0),
        "exited {waited:?} after the signal"
    );
}

#[test]
fn a_peer_quiet_for_longer_than_the_linger_still_gets_its_output_at_shutdown() {
    // A close gives a peer 2 s to take its queued output; that must count
    // from the close, not from the peer's last byte before it. Here the
    // peer has been paused (nothing moving) for 3 s when SIGTERM comes.
    let mut server = Server::start(&["echo", "-v", "--max-outbuf", "65536"]);
    let (mut stream, sending) = pusher(&server, 3, 8 << 20);
    server.wait_for_log("paused");
    // The sleep makes the condition under test (a long quiet), it
    // synchronises nothing.
    thread::sleep(Duration::from_secs(3));
    server.signal("TERM");
    server.wait_for_log("shutting down");
    let back = read_to_end(&mut stream);
    let _ = sending.join();
    let (code, summary) = summary_of(server);
    assert_eq!(code, Some(0), "{summary}");
    let handed = log_counter(&summary, "bytes_in") - log_counter_or_zero(&summary, "discarded");
    assert_eq!(back.len() as u64, handed, "{summary}");
    assert!(back[..] == random_bytes(3, 8 << 20)[..back.len()]);
}
