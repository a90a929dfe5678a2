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
    let line = stats_line_when(&mut server, "accepted", 200);
    let busy = worker_shares(&line, "accepted")
        .iter()
        .filter(|&&n| n > 0)
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
fn http_stats_add_the_workers_up_and_list_each() {
    let server = Server::start(&["http", "--workers", "2"]);
    for _ in 0..20 {
        let mut stream = server.connect();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .expect("write");
        read_to_end(&mut stream);
    }
    // The board is published once a turn: ask until the totals show all
    // twenty (each ask is itself a request; the wait is bounded).
    let deadline = std::time::Instant::now() + PATIENCE;
    let stats = loop {
        let mut stream = server.connect();
        stream
            .write_all(b"GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .expect("write");
        let answer = String::from_utf8(read_to_end(&mut stream)).expect("UTF-8");
        let body = answer
            .split("\r\n\r\n")
            .nth(1)
            .unwrap_or_default()
            .to_string();
        let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        if json["requests"].as_u64().unwrap_or(0) >= 20 {
            break json;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "totals never reached 20: {json}"
        );
    };
    let workers = stats["workers"].as_array().expect("a workers array");
    assert_eq!(workers.len(), 2, "{stats}");
    let sum = |field: &str| -> u64 { workers.iter().filter_map(|w| w[field].as_u64()).sum() };
    assert_eq!(
        sum("accepted"),
        stats["accepted"].as_u64().unwrap_or(0),
        "{stats}"
    );
    assert_eq!(
        sum("requests"),
        stats["requests"].as_u64().unwrap_or(0),
        "{stats}"
    );
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

/// Members on a chat with `workers` workers, each past its welcome; the
/// join notices they were sent are read too.
fn chat_members(server: &Server, count: usize) -> Vec<(LineClient, String)> {
    let mut members: Vec<(LineClient, String)> = Vec::new();
    for _ in 0..count {
        let mut client = LineClient::connect(server.addr);
        let welcome = client.line();
        let name = welcome
            .strip_prefix("* welcome ")
            .and_then(|rest| rest.strip_suffix(", you are in #lobby"))
            .unwrap_or_else(|| panic!("unexpected welcome {welcome:?}"))
            .to_string();
        for (other, _) in members.iter_mut() {
            other.expect(&format!("* {name} joined"));
        }
        members.push((client, name));
    }
    members
}

#[test]
fn chat_members_on_different_workers_share_rooms_names_and_order() {
    let mut server = Server::start(&["chat", "--workers", "2", "--stats-interval", "1"]);
    let mut members = chat_members(&server, 16);
    // The kernel spread them: both workers serve some (the first loop's
    // stats line lists each worker's share).
    let line = stats_line_when(&mut server, "accepted", 16);
    let shares = worker_shares(&line, "accepted");
    assert!(
        shares.iter().all(|&n| n > 0),
        "one worker got them all: {line}"
    );

    // One name for everyone: the first takes it, the 15 others (on either
    // worker) are refused, whatever its case.
    let (first, rest) = members.split_at_mut(1);
    first[0].0.send("/nick shared");
    first[0].0.expect("* you are now shared");
    for (member, _) in rest.iter_mut() {
        member.expect(&format!("* {} is now shared", first[0].1));
        member.send("/nick SHARED");
        member.expect("! name SHARED is taken");
    }

    // 100 lines from one member reach every other, in order, whichever
    // worker each is on.
    for i in 0..100 {
        first[0].0.send(&format!("line {i}"));
    }
    for (member, _) in rest.iter_mut() {
        for i in 0..100 {
            member.expect(&format!("shared: line {i}"));
        }
    }
    // /who sees everyone; /msg crosses workers.
    rest[0].0.send("/who");
    let who = rest[0].0.line();
    assert_eq!(who.matches(", ").count(), 15, "{who}");
    rest[14].0.send("/msg shared psst");
    first[0]
        .0
        .expect(&format!("[private] {}: psst", rest[14].1));
}

#[test]
fn a_chat_with_workers_tells_every_member_at_shutdown() {
    let mut server = Server::start(&["chat", "-v", "--workers", "2"]);
    let mut members = chat_members(&server, 12);
    server.signal("TERM");
    server.wait_for_log("shutting down");
    for (member, _) in members.iter_mut() {
        assert_eq!(member.lines_until_eof(), ["* server shutting down"]);
    }
    let (status, log) = server.wait_exit();
    assert_eq!(status.code(), Some(0), "{log:#?}");
}

#[test]
fn udp_workers_share_a_port_and_each_client_socket_stays_on_one() {
    let mut server = Server::start(&["udp-echo", "--workers", "2", "--stats-interval", "1"]);
    let mut clients = Vec::new();
    for i in 0..16u8 {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        socket.set_read_timeout(Some(PATIENCE)).expect("timeout");
        socket.connect(server.addr).expect("connect");
        for j in 0..5u8 {
            socket.send(&[i, j]).expect("send");
            let mut buf = [0; 8];
            let n = socket.recv(&mut buf).expect("an echo");
            assert_eq!(&buf[..n], &[i, j]);
        }
        clients.push(socket);
    }
    let line = stats_line_when(&mut server, "datagrams_in", 80);
    let shares = worker_shares(&line, "datagrams_in");
    assert_eq!(shares.len(), 2, "{line}");
    assert!(
        shares.iter().all(|&n| n > 0),
        "one worker got every client: {line}"
    );
    // The kernel spreads by source: each client's 5 datagrams went to one
    // worker, so each share is a multiple of 5.
    assert!(shares.iter().all(|&n| n % 5 == 0), "{line}");
}

/// The first worker's stats line (`stats: ... workers=[w0: ..., w1: ...]`)
/// once its total of `counter` has reached `total`; earlier lines, written
/// while clients were still arriving, are passed over.
fn stats_line_when(server: &mut Server, counter: &str, total: u64) -> String {
    loop {
        let line = server.wait_for_log("workers=[");
        if log_counter(&line, counter) == total {
            return line;
        }
        server.log_seen.retain(|l| l != &line);
    }
}

/// Each worker's share of `counter` in a stats line, in worker order (0
/// for a worker whose share does not name it).
fn worker_shares(line: &str, counter: &str) -> Vec<u64> {
    line.split("w")
        .skip(1)
        .filter(|part| part.contains("accepted="))
        .map(|part| log_counter_or_zero(part, counter))
        .collect()
}
