//! `--workers N`, black-box over loopback: several loops on one port, each
//! with its own listener (SO_REUSEPORT), stopped and summed as one server.

mod common;

use std::io::Write;
use std::thread;

use common::*;

#[test]
fn two_hundred_clients_are_served_by_four_workers_and_spread_over_them() {
    let mut server = Server::start(&["echo", "--workers", "4", "--stats-interval", "1"]);
    let clients: Vec<_> = (0..200)
        .map(|i| {
            let addr = server.addr;
            thread::spawn(move || {
                let mut stream = connect(addr);
                round_trip(&mut stream, &random_bytes(i, 1000));
                stream
            })
        })
        .collect();
    let streams: Vec<_> = clients
        .into_iter()
        .map(|c| c.join().expect("client"))
        .collect();
    // The first worker's stats line adds every worker up and lists each.
    let line = loop {
        let line = server.wait_for_log("workers=[");
        if log_counter(&line, "accepted") == 200 {
            break line;
        }
        server.log_seen.retain(|l| l != &line);
    };
    let busy = line
        .split("w")
        .skip(1)
        .filter(|part| part.contains("accepted=") && log_counter(part, "accepted") > 0)
        .count();
    assert!(
        busy >= 2,
        "the kernel spread 200 connections over {busy} worker(s): {line}"
    );
    drop(streams);
}

#[test]
fn sigterm_flushes_every_workers_queued_output_and_the_summary_adds_them_up() {
    let mut server = Server::start(&["echo", "-v", "--workers", "2", "--max-outbuf", "65536"]);
    // Eight clients, so both workers very likely hold some; each sends
    // 8 MiB without reading (more than loopback's socket buffers hold),
    // which the servers queue up to their limit, then stop reading.
    let mut pushers = Vec::new();
    let mut readers = Vec::new();
    for i in 0..8 {
        let client = server.connect();
        let mut writer = client.try_clone().expect("clone");
        pushers.push(thread::spawn(move || {
            let _ = writer.write_all(&random_bytes(i, 8 * 1024 * 1024));
        }));
        readers.push(client);
    }
    server.wait_for_log("paused");
    server.signal("TERM");
    server.wait_for_log("shutting down");
    let received: usize = readers
        .into_iter()
        .map(|mut reader| read_to_end(&mut reader).len())
        .sum();
    for pusher in pushers {
        let _ = pusher.join();
    }
    let (status, log) = server.wait_exit();
    assert_eq!(status.code(), Some(0), "{log:#?}");
    let summary = log
        .iter()
        .find(|l| l.contains("stopped after") && l.contains("(2 workers)"))
        .unwrap_or_else(|| panic!("no summary in {log:#?}"));
    let (bytes_in, bytes_out) = (
        log_counter(summary, "bytes_in"),
        log_counter(summary, "bytes_out"),
    );
    // What was read and not dropped by a close was echoed, every byte.
    let discarded = summary
        .contains("discarded=")
        .then(|| log_counter(summary, "discarded"));
    let echoed = bytes_in - discarded.unwrap_or(0);
    assert_eq!(
        bytes_out, echoed,
        "every byte handed to echo went back: {summary}"
    );
    assert_eq!(
        received as u64, bytes_out,
        "and reached its client: {summary}"
    );
    assert!(bytes_in > 0, "{summary}");
}

#[test]
fn http_workers_answer_on_one_port() {
    let server = Server::start(&["http", "--workers", "2"]);
    for _ in 0..20 {
        let mut stream = server.connect();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .expect("write");
        let answer = String::from_utf8(read_to_end(&mut stream)).expect("UTF-8");
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        assert!(answer.ends_with("Hello, World!"), "{answer}");
    }
}

#[test]
fn zero_workers_means_one_per_core() {
    let mut server = Server::start(&["echo", "--workers", "0"]);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores > 1 {
        server.wait_for_log(&format!("with {cores} workers"));
    }
    let mut stream = server.connect();
    round_trip(&mut stream, b"hello");
}
