//! A peer that resets in the middle of a message (`SO_LINGER` 0, then
//! close: the kernel sends RST and forgets the socket, as when a client
//! crashes). The server drops that connection, frees its descriptor, tells
//! whoever must be told, and goes on.

use std::io::Write;
use std::net::UdpSocket;

use crate::common::*;
use crate::support::*;

#[test]
fn echo_drops_a_connection_reset_mid_message_and_frees_it() {
    let server = Server::start(&["echo"]);
    echo_serves(server.addr);
    let before = server.open_fds();
    for i in 0..20 {
        let mut stream = server.connect();
        // Half a megabyte, more than the socket buffers take: the server
        // is still echoing (and queueing) when the reset arrives.
        stream
            .write_all(&random_bytes(i, 512 * 1024))
            .expect("write");
        reset(stream);
    }
    eventually("the reset connections' descriptors are freed", || {
        server.open_fds() <= before
    });
    echo_serves(server.addr);
}

#[test]
fn chat_forgets_the_half_line_of_a_member_that_resets() {
    let server = Server::start(&["chat"]);
    let mut witness = LineClient::connect(server.addr);
    assert!(witness.line().starts_with("* welcome guest-1,"));
    let mut member = server.connect();
    member.write_all(b"this line never ends").expect("write");
    witness.expect("* guest-2 joined");
    reset(member);
    // The half line is not said: the next thing the room hears is the
    // departure, then whatever is said next.
    witness.expect("* guest-2 left");
    let mut other = LineClient::connect(server.addr);
    other.line();
    witness.expect("* guest-3 joined");
    other.send("after the reset");
    witness.expect("guest-3: after the reset");
    chat_serves(server.addr);
}

#[test]
fn http_drops_a_reset_in_the_head_and_in_the_body() {
    let server = Server::start(&["http"]);
    let before = server.open_fds();
    for partial in [
        &b"GET / HTTP/1.1\r\nHost: x\r\nUser-Ag"[..],
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nonly part of it",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHo",
    ] {
        let mut stream = server.connect();
        stream.write_all(partial).expect("write");
        reset(stream);
    }
    eventually("the reset connections' descriptors are freed", || {
        server.open_fds() <= before
    });
    http_serves(server.addr);
}

#[test]
fn chat_web_drops_a_websocket_reset_mid_frame_and_a_poll_reset_mid_body() {
    let server = Server::start_web(&[]);
    let web = server.web.expect("web address");
    let mut witness = LineClient::connect(server.addr);
    witness.line();

    let (mut ws, welcome) = ws_member(web);
    let name = welcome
        .strip_prefix("* welcome ")
        .and_then(|rest| rest.split(',').next())
        .expect("a name")
        .to_string();
    witness.expect(&format!("* {name} joined"));
    let frame = ws_frame(1, &[b'x'; 300]);
    ws.write_all(&frame[..frame.len() / 2])
        .expect("half a frame");
    reset(ws);
    witness.expect(&format!("* {name} left"));

    // A polling POST whose body stops half way.
    let mut poll = connect(web);
    poll.write_all(
        b"POST /socket.io/?EIO=4&transport=polling&sid=nosuch HTTP/1.1\r\nHost: x\r\n\
          Content-Length: 5000\r\n\r\n40",
    )
    .expect("write");
    reset(poll);

    web_serves(web);
    chat_serves(server.addr);
}

#[test]
fn udp_echo_goes_on_when_a_sender_vanishes_before_its_replies() {
    let server = Server::start(&["udp-echo"]);
    for _ in 0..10 {
        // 200 datagrams, then the socket closes: the replies meet a closed
        // port, and the kernel answers them with "port unreachable".
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        socket.connect(server.addr).expect("connect");
        for i in 0..200u32 {
            socket.send(&i.to_be_bytes()).expect("send");
        }
    }
    udp_serves(server.addr);
}
