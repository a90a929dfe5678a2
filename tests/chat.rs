//! `reactor chat`, black-box over loopback with real clients
//! (`docs/reference.md`).
//!
//! Ordering between clients comes from the chat itself: when one client has
//! read a line another sent, the server has handled that line, so what the
//! first client sends next is handled after it. No test waits on time.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use common::*;

/// A chat server on a free port.
fn chat(extra: &[&str]) -> Server {
    let mut args = vec!["chat"];
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// Connects a new member, reads its welcome, and has every member already
/// in the lobby read the join notice. Returns the client and its name.
fn join(server: &Server, lobby: &mut [&mut LineClient]) -> (LineClient, String) {
    let mut client = LineClient::connect(server.addr);
    let welcome = client.line();
    let name = welcome
        .strip_prefix("* welcome ")
        .and_then(|rest| rest.strip_suffix(", you are in #lobby"))
        .unwrap_or_else(|| panic!("unexpected welcome {welcome:?}"))
        .to_string();
    for other in lobby.iter_mut() {
        other.expect(&format!("* {name} joined"));
    }
    (client, name)
}

#[test]
fn readiness_line_and_default_bind() {
    let server = chat(&[]);
    assert!(server
        .ready_line
        .starts_with("listening on tcp://127.0.0.1:"));
    let (_, stdout, _) = run_to_exit(&["chat", "--help"]);
    // The documented default address, as --help shows it (nothing binds it).
    let default_bind = format!("[default: {}:{}]", "127.0.0.1", 7001);
    assert!(stdout.contains(&default_bind), "{stdout}");
    assert!(stdout.contains("--max-line"), "{stdout}");
}

#[test]
fn join_and_leave_notices() {
    let server = chat(&[]);
    let (mut a, name_a) = join(&server, &mut []);
    assert_eq!(name_a, "guest-1");
    let (mut b, name_b) = join(&server, &mut [&mut a]);
    assert_eq!(name_b, "guest-2");

    // `/quit`: bye, then the server closes; the room is told.
    b.send("/quit");
    b.expect("* bye");
    assert_eq!(b.lines_until_eof(), Vec::<String>::new());
    a.expect("* guest-2 left");

    // A client that just goes away.
    let (c, _) = join(&server, &mut [&mut a]);
    drop(c);
    a.expect("* guest-3 left");

    // One that half-closes after a command still gets its answer.
    let (d, _) = join(&server, &mut [&mut a]);
    let mut d = d;
    d.send("/who");
    d.shutdown_write();
    assert_eq!(d.lines_until_eof(), ["* in #lobby: guest-1, guest-4"]);
    a.expect("* guest-4 left");
}

#[test]
fn lines_reach_only_the_senders_room() {
    let server = chat(&[]);
    let (mut a, _) = join(&server, &mut []);
    let (mut b, _) = join(&server, &mut [&mut a]);
    let (mut c, _) = join(&server, &mut [&mut a, &mut b]);

    c.send("/join rust");
    c.expect("* you are in #rust");
    a.expect("* guest-3 left");
    b.expect("* guest-3 left");

    a.send("hello lobby");
    b.expect("guest-1: hello lobby");
    // b read it, so the server handled it before c's next command: had c
    // been sent the line, it would come before the answer.
    c.send("/who");
    c.expect("* in #rust: guest-3");

    c.send("hello rust");
    c.send("/rooms");
    c.expect("* rooms: lobby (2), rust (1)");
    a.send("/who");
    a.expect("* in #lobby: guest-1, guest-2");

    a.send("/join rust");
    a.expect("* you are in #rust");
    b.expect("* guest-1 left");
    c.expect("* guest-1 joined");
    a.send("/me waves");
    c.expect("* guest-1 waves");
}

#[test]
fn an_action_and_a_departure_read_differently() {
    let server = chat(&[]);
    let (mut a, _) = join(&server, &mut []);
    let (mut b, _) = join(&server, &mut [&mut a]);
    b.send("/me left");
    a.expect("* guest-2 *left*");
    b.send("/quit");
    b.expect("* bye");
    a.expect("* guest-2 left");
}

#[test]
fn rooms_ignore_case_and_are_shown_as_first_spelled() {
    let server = chat(&[]);
    let (mut a, _) = join(&server, &mut []);
    let (mut b, _) = join(&server, &mut [&mut a]);
    a.send("/join Rust");
    a.expect("* you are in #Rust");
    b.expect("* guest-1 left");
    b.send("/join rust");
    b.expect("* you are in #Rust");
    a.expect("* guest-2 joined");
    b.send("/rooms");
    b.expect("* rooms: Rust (2)");
    b.send("/who");
    b.expect("* in #Rust: guest-1, guest-2");
}

#[test]
fn bidi_overrides_and_line_separators_are_shown_as_replacement_characters() {
    let server = chat(&[]);
    let (mut a, _) = join(&server, &mut []);
    let (mut b, _) = join(&server, &mut [&mut a]);
    b.send("\u{202E}olleh\u{2066}x\u{2069}\u{2028}* guest-1 left");
    a.expect("guest-2: \u{FFFD}olleh\u{FFFD}x\u{FFFD}\u{FFFD}* guest-1 left");
}

#[test]
fn private_messages_cross_rooms() {
    let server = chat(&[]);
    let (mut a, _) = join(&server, &mut []);
    let (mut b, _) = join(&server, &mut [&mut a]);
    let (mut c, _) = join(&server, &mut [&mut a, &mut b]);
    b.send("/nick bob");
    b.expect("* you are now bob");
    a.expect("* guest-2 is now bob");
    c.expect("* guest-2 is now bob");
    b.send("/join elsewhere");
    b.expect("* you are in #elsewhere");
    a.expect("* bob left");
    c.expect("* bob left");

    a.send("/msg bob are you there?");
    b.expect("[private] guest-1: are you there?");
    a.send("/msg nobody hello");
    a.expect("! no such user nobody");
    // c got nothing private: its next line answers its own command.
    c.send("/who");
    c.expect("* in #lobby: guest-1, guest-3");
}

#[test]
fn commands_and_errors_over_the_wire() {
    let server = chat(&["--max-line", "16"]);
    let (mut a, _) = join(&server, &mut []);
    let (mut b, _) = join(&server, &mut [&mut a]);

    b.send("/nick guest-1");
    b.expect("! name guest-1 is taken");
    b.send("/nick no spaces");
    b.expect("! invalid name");
    b.send("/dance");
    b.expect("! unknown command /dance");
    b.send("");
    b.send("/help");
    let first = b.line();
    assert!(first.starts_with("* "), "{first}");

    // Over --max-line: an error, the line dropped, the connection kept.
    b.send_raw(format!("{}\n", "x".repeat(100)).as_bytes());
    b.send_raw(b"\xc3(\n");
    loop {
        let line = b.line();
        if !line.starts_with("* ") {
            assert_eq!(line, "! line too long (max 16 bytes)");
            break;
        }
    }
    b.expect("! invalid UTF-8");
    b.send("still here");
    a.expect("guest-2: still here");
}

#[test]
fn crlf_clients_are_understood_and_get_plain_newlines() {
    let server = chat(&[]);
    let (mut a, _) = join(&server, &mut []);
    let (mut b, _) = join(&server, &mut [&mut a]);
    b.send_raw(b"/nick telnet\r\n\r\nhello from telnet\r\n");
    b.expect("* you are now telnet");
    a.expect("* guest-2 is now telnet");
    a.expect("telnet: hello from telnet");
    a.send_raw(b"split ");
    a.send_raw(b"over\r");
    a.send_raw(b"\n");
    b.expect("guest-1: split over");
}

#[test]
fn five_hundred_lines_arrive_complete_and_in_order_at_three_receivers() {
    let server = chat(&[]);
    let (mut sender, name) = join(&server, &mut []);
    let (mut r1, _) = join(&server, &mut [&mut sender]);
    let (mut r2, _) = join(&server, &mut [&mut sender, &mut r1]);
    let (r3, _) = join(&server, &mut [&mut sender, &mut r1, &mut r2]);

    let receivers: Vec<_> = [r1, r2, r3]
        .into_iter()
        .map(|mut receiver| {
            let name = name.clone();
            thread::spawn(move || {
                for i in 0..500 {
                    receiver.expect(&format!("{name}: line {i} of 500"));
                }
            })
        })
        .collect();
    // Half in one write, half a line per write: both ways of arriving.
    let batch: String = (0..250).map(|i| format!("line {i} of 500\n")).collect();
    sender.send_raw(batch.as_bytes());
    for i in 250..500 {
        sender.send(&format!("line {i} of 500"));
    }
    for receiver in receivers {
        receiver.join().expect("receiver");
    }
}

#[test]
fn a_member_that_does_not_read_is_dropped_and_the_others_keep_receiving() {
    let mut server = chat(&["--max-outbuf", "65536", "--max-line", "8192"]);
    let (mut slow, _) = join(&server, &mut []);
    let (mut publisher, name) = join(&server, &mut [&mut slow]);
    let (mut reader, _) = join(&server, &mut [&mut slow, &mut publisher]);
    slow.send("/nick slow");
    slow.expect("* you are now slow");
    publisher.expect("* guest-1 is now slow");
    reader.expect("* guest-1 is now slow");
    // From here on `slow` reads nothing.

    let stop = Arc::new(AtomicBool::new(false));
    let stopping = Arc::clone(&stop);
    let pad = "p".repeat(2000);
    let publishing = thread::spawn(move || {
        let mut sent = 0u64;
        // Until the server has dropped `slow`: the kernel's socket buffers
        // must fill before the server's queue for it grows, and how much
        // they hold varies, so the amount is not fixed in advance.
        while !stopping.load(Ordering::SeqCst) {
            let batch: String = (sent..sent + 16)
                .map(|i| format!("msg {i} {pad}\n"))
                .collect();
            publisher.send_raw(batch.as_bytes());
            sent += 16;
        }
        publisher.send("done");
        // Kept open: closing a socket with unread input (the notices it
        // was sent) resets it, and a reset can discard lines not yet read.
        (sent, publisher)
    });

    let receiving = thread::spawn(move || {
        let (mut next, mut saw_left) = (0u64, false);
        loop {
            let line = reader.line();
            if line == "* slow left" {
                saw_left = true;
            } else if line == format!("{name}: done") {
                return (next, saw_left);
            } else {
                let want = format!("{name}: msg {next} ");
                assert!(line.starts_with(&want), "want {want:?}, got {line:.40?}");
                next += 1;
            }
        }
    });

    server.wait_for_log("over --max-outbuf 65536");
    stop.store(true, Ordering::SeqCst);
    let (sent, _publisher) = publishing.join().expect("publisher");
    let (received, saw_left) = receiving.join().expect("reader");
    assert_eq!(received, sent, "the reader got every line, in order");
    assert!(saw_left, "the room was told the slow member left");
    // What the slow member's buffers held, then the end.
    let _ = slow.lines_until_eof();
}

#[test]
fn max_conns_answers_server_full() {
    let mut server = chat(&["--max-conns", "2"]);
    let (mut a, _) = join(&server, &mut []);
    let (_b, _) = join(&server, &mut [&mut a]);
    let mut third = LineClient::connect(server.addr);
    assert_eq!(third.lines_until_eof(), ["! server full"]);
    server.wait_for_log("--max-conns 2 reached");
    a.send("/who");
    a.expect("* in #lobby: guest-1, guest-2");
}

#[test]
fn idle_members_are_told_and_closed_and_the_room_hears_it() {
    let server = chat(&["--idle-timeout", "1"]);
    let started = std::time::Instant::now();
    let (mut a, _) = join(&server, &mut []);
    assert_eq!(a.lines_until_eof(), ["! idle timeout"]);
    let waited = started.elapsed();
    assert!(
        waited.as_millis() >= 900 && waited.as_millis() < 2500,
        "told after {waited:?}, timeout 1 s"
    );
    // The room hears it: b idles out too, having heard a leave if a went
    // first (nothing moved for either after b's welcome).
    let (mut c, _) = join(&server, &mut []);
    let (mut d, _) = join(&server, &mut [&mut c]);
    let c_lines = c.lines_until_eof();
    let d_lines = d.lines_until_eof();
    let heard = |lines: &[String], name: &str| lines.contains(&format!("* {name} left"));
    assert!(
        c_lines.ends_with(&["! idle timeout".to_string()]),
        "{c_lines:?}"
    );
    assert!(
        d_lines.ends_with(&["! idle timeout".to_string()]),
        "{d_lines:?}"
    );
    assert!(
        heard(&c_lines, "guest-3") || heard(&d_lines, "guest-2"),
        "neither heard the other leave: {c_lines:?} {d_lines:?}"
    );
}

#[test]
fn a_member_who_only_listens_is_not_idle() {
    let server = chat(&["--idle-timeout", "1"]);
    let (mut talker, name) = join(&server, &mut []);
    let (mut listener, _) = join(&server, &mut [&mut talker]);
    // A line every 300 ms for 2.4 s: the listener sends nothing, but bytes
    // keep moving to it, so it is not idle (the sleep paces the talk).
    for i in 0..8 {
        talker.send(&format!("line {i}"));
        listener.expect(&format!("{name}: line {i}"));
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

#[test]
fn shutdown_tells_every_member_then_exits_zero() {
    let mut server = chat(&["-v"]);
    let (mut a, _) = join(&server, &mut []);
    let (mut b, _) = join(&server, &mut [&mut a]);
    b.send("/join rust");
    b.expect("* you are in #rust");
    a.expect("* guest-2 left");
    server.signal("TERM");
    server.wait_for_log("shutting down");
    assert_eq!(a.lines_until_eof(), ["* server shutting down"]);
    assert_eq!(b.lines_until_eof(), ["* server shutting down"]);
    let (status, log) = server.wait_exit();
    assert_eq!(status.code(), Some(0), "{log:#?}");
    assert!(log.iter().any(|l| l.contains("stopped after")), "{log:#?}");
}

#[test]
fn a_long_max_line_is_honoured_and_one_that_cannot_be_queued_is_refused() {
    let server = chat(&["--max-line", "300000", "--max-outbuf", "400000"]);
    let (mut a, name) = join(&server, &mut []);
    let (mut b, _) = join(&server, &mut [&mut a]);
    let long = "x".repeat(250_000);
    a.send(&long);
    b.expect(&format!("{name}: {long}"));
    let (status, _, stderr) = run_to_exit(&["chat", "--max-line", "4000000"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--max-outbuf"), "{stderr}");
}

#[test]
fn usage_errors_exit_two() {
    for (args, option) in [
        (&["chat", "--max-line", "0"][..], "--max-line"),
        (&["chat", "--max-line", "lots"], "--max-line"),
        (&["chat", "--bind", "here"], "--bind"),
    ] {
        let (status, _, stderr) = run_to_exit(args);
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(option), "{args:?}: {stderr}");
    }
}
