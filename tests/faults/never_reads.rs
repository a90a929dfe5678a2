//! A client that never reads what it is sent. Echo and HTTP stop reading
//! from it once `--max-outbuf` bytes wait for it (its own TCP window then
//! holds it back); chat disconnects it as a slow consumer, since it is the
//! others' talk that fills its queue. Either way the others are served as
//! before, and the server's memory stays bounded.

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use crate::common::*;
use crate::support::*;

/// Server RSS may grow by at most this while a client does not read:
/// `--max-outbuf` is 64 KiB here, so this is generous.
const RSS_GROWTH_KIB: u64 = 16 * 1024;

/// Writes `chunk` again and again on a thread until the flag is set or a
/// write fails; a client that only sends.
fn push_forever(stream: &TcpStream, chunk: Vec<u8>) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let mut writer = stream.try_clone().expect("clone");
    thread::spawn(
        move || {
            while !flag.load(Ordering::SeqCst) && writer.write_all(&chunk).is_ok() {}
        },
    );
    stop
}

#[test]
fn echo_pauses_a_client_that_never_reads_and_serves_the_others() {
    let mut server = Server::start(&["echo", "-v", "--max-outbuf", "65536"]);
    let baseline = server.rss_kib();
    let hog = connect_small_window(server.addr);
    let stop = push_forever(&hog, random_bytes(1, 64 * 1024));
    server.wait_for_log("paused");
    for _ in 0..20 {
        echo_serves(server.addr);
    }
    let grown = server.rss_kib().saturating_sub(baseline);
    assert!(grown < RSS_GROWTH_KIB, "RSS grew by {grown} KiB");
    stop.store(true, Ordering::SeqCst);
}

#[test]
fn http_pauses_a_pipeliner_that_never_reads_and_serves_the_others() {
    let mut server = Server::start(&["http", "-v", "--max-outbuf", "65536"]);
    let baseline = server.rss_kib();
    let hog = connect_small_window(server.addr);
    let stop = push_forever(&hog, GET.repeat(500));
    server.wait_for_log("paused");
    for _ in 0..20 {
        http_serves(server.addr);
    }
    let grown = server.rss_kib().saturating_sub(baseline);
    assert!(grown < RSS_GROWTH_KIB, "RSS grew by {grown} KiB");
    stop.store(true, Ordering::SeqCst);
}

/// Says 1 KiB lines in the lobby until the deaf member is dropped; the
/// reader must hear every one of them, in order, and then the departure.
fn talk_until_the_deaf_one_leaves(talker: &mut LineClient, reader: &mut LineClient, deaf: &str) {
    let text = "x".repeat(1024);
    for i in 0..4000 {
        talker.send(&format!("{i} {text}"));
        let line = reader.line();
        if line == format!("* {deaf} left") {
            assert_eq!(reader.line(), format!("guest-1: {i} {text}"));
            return;
        }
        assert_eq!(line, format!("guest-1: {i} {text}"));
    }
    panic!("{deaf} was never dropped");
}

#[test]
fn chat_disconnects_a_member_that_never_reads_and_the_others_hear_everything() {
    let mut server = Server::start(&["chat", "--max-outbuf", "65536"]);
    let baseline = server.rss_kib();
    let mut talker = LineClient::connect(server.addr);
    talker.line();
    let mut reader = LineClient::connect(server.addr);
    reader.line();
    talker.line(); // guest-2 joined
    let _deaf = connect_small_window(server.addr);
    reader.expect("* guest-3 joined");
    talker.line();
    talk_until_the_deaf_one_leaves(&mut talker, &mut reader, "guest-3");
    server.wait_for_log("disconnected");
    let grown = server.rss_kib().saturating_sub(baseline);
    assert!(grown < RSS_GROWTH_KIB, "RSS grew by {grown} KiB");
    chat_serves(server.addr);
}

#[test]
fn chat_disconnects_a_websocket_member_that_never_reads() {
    let mut server = Server::start_web(&["--max-outbuf", "65536"]);
    let web = server.web.expect("web address");
    let mut talker = LineClient::connect(server.addr);
    talker.line();
    let mut reader = LineClient::connect(server.addr);
    reader.line();
    talker.line();
    let deaf = connect_small_window(web);
    (&deaf).write_all(WS_HANDSHAKE).expect("handshake");
    reader.expect("* guest-3 joined");
    talker.line();
    talk_until_the_deaf_one_leaves(&mut talker, &mut reader, "guest-3");
    server.wait_for_log("disconnected");
    web_serves(web);
}

#[test]
fn udp_echo_serves_others_while_one_socket_never_reads_its_replies() {
    let server = Server::start(&["udp-echo"]);
    let deaf = UdpSocket::bind("127.0.0.1:0").expect("bind");
    deaf.connect(server.addr).expect("connect");
    for i in 0..20_000u32 {
        // Replies pile up in the deaf socket's buffer, then the kernel
        // drops them: none of that is the server's to hold.
        deaf.send(&i.to_be_bytes().repeat(64)).expect("send");
        if i % 1000 == 0 {
            udp_serves(server.addr);
        }
    }
    udp_serves(server.addr);
}
