//! The read budget: a connection that never stops sending is read at most
//! `READ_BUDGET` times per turn, then the others get theirs. Seen from
//! outside: while one client floods HTTP with pipelined requests, another
//! client's requests are answered in milliseconds, every one of them.
//!
//! HTTP, not echo, because the flood must outrun the server for the test
//! to mean anything: each 64 KiB read holds some 1,700 requests to parse
//! and answer, while the flooder only copies a prepared megabyte. Against
//! echo, whose work per read is a copy too, the server keeps up, finds
//! the socket empty, and ends the turn with or without a budget.
//!
//! What this tells apart: a loop that reads an edge-triggered socket until
//! `WouldBlock`, as it must, with no budget, never finds this flooder's
//! socket empty, and the other client waits until its read times out
//! (checked: 20 s, three runs of three). With the budget, one turn is
//! at most 1 MiB of requests (some 50 ms in a debug build on a busy
//! machine), so the bounds here are generous and still far apart.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::*;

/// How long the round trips run while the flood goes on.
const WINDOW: Duration = Duration::from_secs(1);

/// The request the measured client sends.
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

/// Reads the first answer and returns its length: every answer to
/// `GET /` has the same (the `Date` header has a fixed width).
fn answer_length(stream: &mut std::net::TcpStream) -> usize {
    let mut answer = Vec::new();
    while !answer.ends_with(b"Hello, World!") {
        answer.extend(read_exact(stream, 1));
        assert!(answer.len() < 1024, "no answer in {answer:?}");
    }
    answer.len()
}

#[test]
fn a_flood_on_one_connection_leaves_the_others_round_trips_answered() {
    // A queue limit far above what the flood needs, so that nothing but
    // the read budget ends the flooder's turn (pausing would, too).
    let server = Server::start(&["http", "--max-outbuf", "1073741824"]);
    let flooder = server.connect();
    let stop = Arc::new(AtomicBool::new(false));
    let echoed = Arc::new(AtomicU64::new(0));
    let (mut sink, mut source) = (flooder.try_clone().expect("clone"), flooder);
    let flag = Arc::clone(&stop);
    let flooding = thread::spawn(move || {
        let chunk = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(1 << 15);
        while !flag.load(Ordering::SeqCst) && sink.write_all(&chunk).is_ok() {}
    });
    // The flood's echo is read (and dropped) as fast as it comes.
    let count = Arc::clone(&echoed);
    let draining = thread::spawn(move || {
        let mut buf = vec![0u8; 1024 * 1024];
        while let Ok(n @ 1..) = source.read(&mut buf) {
            count.fetch_add(n as u64, Ordering::Relaxed);
        }
    });
    let flowing = Instant::now();
    while echoed.load(Ordering::Relaxed) < 16 << 20 {
        assert!(flowing.elapsed() < PATIENCE, "the flood never got going");
        thread::yield_now();
    }

    let mut other = server.connect();
    other.write_all(REQUEST).expect("request");
    let answer_len = answer_length(&mut other);
    let (mut rtts, before, started) = (Vec::new(), echoed.load(Ordering::Relaxed), Instant::now());
    for i in 0u64.. {
        if started.elapsed() >= WINDOW {
            break;
        }
        let sent = Instant::now();
        other.write_all(REQUEST).expect("request");
        let answer = read_exact(&mut other, answer_len);
        assert!(answer.ends_with(b"Hello, World!"), "answer {i}");
        rtts.push(sent.elapsed());
    }
    let during = echoed.load(Ordering::Relaxed) - before;
    stop.store(true, Ordering::SeqCst);
    let _ = flooding.join();
    drop(server);
    let _ = draining.join();

    assert!(
        during >= 16 << 20,
        "the flood slowed to {during} B: no contest"
    );
    rtts.sort();
    let (median, worst) = (rtts[rtts.len() / 2], rtts[rtts.len() - 1]);
    assert!(
        median < Duration::from_millis(100),
        "median round trip {median:?}"
    );
    assert!(worst < Duration::from_secs(1), "worst round trip {worst:?}");
}
