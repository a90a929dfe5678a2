//! `reactor chat --web` against clients that break the rules: each one is
//! ended alone, with the close code or status the contract gives
//! (`docs/reference.md`, "Chat for browsers and Socket.IO clients"), while
//! a TCP member in the same room sees it leave and goes on chatting.
//!
//! Frames and requests are built by hand (`wire/`), so nothing here
//! depends on the server's own codecs being right.

mod common;
mod wire;

use std::time::{Duration, Instant};

use common::{LineClient, Server};
use wire::{frame, frame_header, Conn, BINARY, CLOSE, CONTINUATION, PING, PONG, TEXT};

/// What "at once" means here: well under the 2 s the loop lingers on a
/// closed connection, well over any scheduling delay.
const NOW: Duration = Duration::from_millis(1500);

/// Engine.IO's `maxPayload`: the largest message a WebSocket may carry.
const MAX_PAYLOAD: usize = 1_000_000;

/// A server with `--web`, and a TCP member in `#lobby`.
struct Room {
    server: Server,
    tcp: LineClient,
}

impl Room {
    fn new(args: &[&str]) -> Room {
        let server = Server::start_web(args);
        let mut tcp = LineClient::connect(server.addr);
        tcp.expect("* welcome guest-1, you are in #lobby");
        Room { server, tcp }
    }

    fn web(&self) -> std::net::SocketAddr {
        self.server.web.expect("a web address")
    }

    /// A `/ws` member: its welcome read, its arrival seen by the TCP
    /// member. Returns it and its name.
    fn ws_member(&mut self) -> (Conn, String) {
        let mut ws = Conn::websocket(self.web(), "/ws");
        let welcome = ws.text();
        let name = welcome
            .strip_prefix("* welcome ")
            .and_then(|rest| rest.split(',').next())
            .unwrap_or_else(|| panic!("not a welcome: {welcome:?}"))
            .to_string();
        self.tcp.expect(&format!("* {name} joined"));
        (ws, name)
    }

    /// The member `name` is gone, and the room goes on: the TCP member
    /// hears it leave at once, then [`Room::goes_on`].
    fn goes_on_without(&mut self, name: &str) {
        let closed = Instant::now();
        self.tcp.expect(&format!("* {name} left"));
        // The hostile client still holds its socket open, and the loop
        // lingers up to 2 s on a connection it closed before letting it
        // go; the member must leave when its WebSocket is closed, not
        // then.
        assert!(
            closed.elapsed() < NOW,
            "{name} left {:?} after its close",
            closed.elapsed()
        );
        self.goes_on();
    }

    /// The TCP member is alone in the room, and chats with a newcomer
    /// both ways.
    fn goes_on(&mut self) {
        self.tcp.send("/who");
        self.tcp.expect("* in #lobby: guest-1");
        let mut newcomer = LineClient::connect(self.server.addr);
        let welcome = newcomer.line();
        let name = welcome
            .strip_prefix("* welcome ")
            .and_then(|rest| rest.split(',').next())
            .unwrap_or_else(|| panic!("not a welcome: {welcome:?}"))
            .to_string();
        self.tcp.expect(&format!("* {name} joined"));
        newcomer.send("still here");
        self.tcp.expect(&format!("{name}: still here"));
        self.tcp.send("good");
        newcomer.expect("guest-1: good");
    }
}

#[test]
fn a_ws_member_chats_pings_sends_fragments_and_closes_cleanly() {
    let mut room = Room::new(&[]);
    let (mut ws, name) = room.ws_member();
    ws.send_text("hi from a websocket");
    room.tcp.expect(&format!("{name}: hi from a websocket"));
    room.tcp.send("hi back");
    assert_eq!(ws.text(), "guest-1: hi back");

    // A message in three fragments, a ping between two of them, and a
    // character cut between fragments: reassembled, and the ping answered
    // in the middle of it.
    let bytes = "fragments 你好".as_bytes();
    let cut = bytes.len() - 2; // inside 好
    let mut out = frame(false, TEXT, &bytes[..4], true);
    out.extend(frame(true, PING, b"are you there", true));
    out.extend(frame(false, CONTINUATION, &bytes[4..cut], true));
    out.extend(frame(true, CONTINUATION, &bytes[cut..], true));
    ws.send(&out).expect("send fragments");
    let pong = ws.frame();
    assert_eq!(
        (pong.opcode, pong.payload.as_slice()),
        (PONG, &b"are you there"[..])
    );
    room.tcp.expect(&format!("{name}: fragments 你好"));

    // The close handshake: the server answers with the same code, closes.
    ws.send(&frame(true, CLOSE, &1000u16.to_be_bytes(), true))
        .expect("send close");
    assert_eq!(ws.close_code(), Some(1000));
    room.goes_on_without(&name);
}

/// One hostile `/ws` member: `bytes` sent after its welcome must close it
/// with `code`.
fn ws_closed_with(bytes: &[u8], code: u16) {
    let mut room = Room::new(&[]);
    let (mut ws, name) = room.ws_member();
    ws.send(bytes).expect("send the hostile bytes");
    assert_eq!(
        ws.close_code(),
        Some(code),
        "after {:?}",
        &bytes[..bytes.len().min(16)]
    );
    room.goes_on_without(&name);
}

#[test]
fn an_unmasked_frame_closes_with_1002() {
    ws_closed_with(&frame(true, TEXT, b"hello", false), 1002);
}

#[test]
fn invalid_utf8_closes_with_1007() {
    ws_closed_with(&frame(true, TEXT, b"caf\xc3(", true), 1007);
    // Also when the bad byte is in the last fragment.
    let mut fragments = frame(false, TEXT, "ok so far é".as_bytes(), true);
    fragments.extend(frame(true, CONTINUATION, b"\xff", true));
    ws_closed_with(&fragments, 1007);
}

#[test]
fn a_control_frame_over_125_bytes_closes_with_1002() {
    ws_closed_with(&frame(true, PING, &[b'p'; 126], true), 1002);
}

#[test]
fn a_message_over_max_payload_closes_with_1009() {
    // The header alone announces too much: refused before any payload.
    ws_closed_with(&frame_header(true, TEXT, MAX_PAYLOAD as u64 + 1), 1009);
    // Fragments that add up to more: two of 400 000 bytes, then a third
    // whose header passes the limit.
    let part = vec![b'a'; 400_000];
    let mut fragments = frame(false, TEXT, &part, true);
    fragments.extend(frame(false, CONTINUATION, &part, true));
    fragments.extend(frame_header(true, CONTINUATION, 200_001));
    ws_closed_with(&fragments, 1009);
}

#[test]
fn a_message_of_exactly_max_payload_is_only_a_line_too_long() {
    let mut room = Room::new(&[]);
    let (mut ws, name) = room.ws_member();
    let mut fragments = frame(false, TEXT, &vec![b'a'; MAX_PAYLOAD / 2], true);
    fragments.extend(frame(
        true,
        CONTINUATION,
        &vec![b'a'; MAX_PAYLOAD / 2],
        true,
    ));
    ws.send(&fragments).expect("send a big message");
    assert_eq!(ws.text(), "! line too long (max 4096 bytes)");
    ws.send_text("short");
    room.tcp.expect(&format!("{name}: short"));
}

#[test]
fn a_binary_frame_on_ws_closes_with_1003() {
    ws_closed_with(&frame(true, BINARY, b"\x00\x01", true), 1003);
}

/// A Socket.IO member on a raw WebSocket: returns it, its name, and the
/// open packet's JSON.
fn sio_over_websocket(room: &mut Room) -> (Conn, String, serde_json::Value) {
    let mut ws = Conn::websocket(room.web(), "/socket.io/?EIO=4&transport=websocket");
    let open = ws.text();
    let handshake: serde_json::Value =
        serde_json::from_str(open.strip_prefix('0').expect("an open packet")).expect("JSON");
    ws.send_text("40");
    assert!(ws.text().starts_with("40{\"sid\":"), "no CONNECT answer");
    let welcome: serde_json::Value =
        serde_json::from_str(ws.text().strip_prefix("42").expect("an event")).expect("JSON");
    assert_eq!(welcome[0], "notice");
    let text = welcome[1]["text"].as_str().expect("a notice text");
    let name = text
        .strip_prefix("welcome ")
        .and_then(|rest| rest.split(',').next())
        .expect("a welcome")
        .to_string();
    room.tcp.expect(&format!("* {name} joined"));
    (ws, name, handshake)
}

#[test]
fn hostile_frames_on_a_socket_io_websocket_end_its_member() {
    for (bytes, code) in [
        (frame(true, TEXT, b"42[\"message\",\"x\"]", false), 1002),
        (frame(true, TEXT, b"42[\"message\",\"\xc3(\"]", true), 1007),
        (frame_header(true, TEXT, MAX_PAYLOAD as u64 + 1), 1009),
    ] {
        let mut room = Room::new(&[]);
        let (mut ws, name, _) = sio_over_websocket(&mut room);
        ws.send(&bytes).expect("send the hostile bytes");
        assert_eq!(ws.close_code(), Some(code));
        room.goes_on_without(&name);
    }
}

#[test]
fn a_client_that_never_answers_pings_leaves_in_bounded_time() {
    let mut room = Room::new(&["--ping-interval", "200", "--ping-timeout", "300"]);
    let started = Instant::now();
    let (mut ws, name, handshake) = sio_over_websocket(&mut room);
    assert_eq!(handshake["pingInterval"], 200, "{handshake}");
    assert_eq!(handshake["pingTimeout"], 300, "{handshake}");
    assert_eq!(ws.text(), "2", "the server's ping");
    // No pong: the session ends (`1`), then the WebSocket.
    assert_eq!(ws.text(), "1");
    assert_eq!(ws.close_code(), Some(1000));
    room.tcp.expect(&format!("* {name} left"));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(5),
        "left after {took:?}, not about 500 ms"
    );
    room.goes_on();
}

#[test]
fn a_polling_client_that_stops_polling_leaves_in_bounded_time() {
    let mut room = Room::new(&["--ping-interval", "200", "--ping-timeout", "300"]);
    let started = Instant::now();
    let (sid, name) = sio_over_polling(&mut room);
    // It never polls again: the ping waits in its outbox, unanswered.
    room.tcp.expect(&format!("* {name} left"));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(5),
        "left after {took:?}, not about 500 ms"
    );
    let mut conn = Conn::open(room.web());
    let target = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    assert_eq!(conn.exchange("GET", &target, b"").status, 400);
    room.goes_on();
}

#[test]
fn a_client_that_answers_pings_stays() {
    let mut room = Room::new(&["--ping-interval", "200", "--ping-timeout", "300"]);
    let (mut ws, name, _) = sio_over_websocket(&mut room);
    // Three pings answered: over a second, twice interval + timeout.
    for _ in 0..3 {
        assert_eq!(ws.text(), "2");
        ws.send_text("3");
    }
    room.tcp.send("/who");
    room.tcp.expect(&format!("* in #lobby: guest-1, {name}"));
    ws.send_text("42[\"message\",\"awake\"]");
    room.tcp.expect(&format!("{name}: awake"));
}

/// A Socket.IO member over long-polling, connected: its sid and name.
fn sio_over_polling(room: &mut Room) -> (String, String) {
    let mut conn = Conn::open(room.web());
    let open = conn.exchange("GET", "/socket.io/?EIO=4&transport=polling", b"");
    assert_eq!(open.status, 200, "{open:?}");
    let handshake: serde_json::Value =
        serde_json::from_str(open.body_text().strip_prefix('0').expect("open")).expect("JSON");
    let sid = handshake["sid"].as_str().expect("a sid").to_string();
    let target = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    let posted = conn.exchange("POST", &target, b"40");
    assert_eq!((posted.status, posted.body_text().as_str()), (200, "ok"));
    let body = conn.exchange("GET", &target, b"").body_text();
    let (connected, welcome) = body.split_once('\x1e').expect("two packets");
    assert!(connected.starts_with("40{\"sid\":"), "{body:?}");
    let name = welcome
        .strip_prefix("42[\"notice\",{\"text\":\"welcome ")
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("not a welcome: {body:?}"))
        .to_string();
    room.tcp.expect(&format!("* {name} joined"));
    (sid, name)
}

#[test]
fn a_second_pending_poll_is_400_and_ends_the_session() {
    let mut room = Room::new(&["--trace"]);
    let (sid, name) = sio_over_polling(&mut room);
    let target = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    let mut first = Conn::open(room.web());
    first.request("GET", &target, b"");
    room.server
        .wait_for_log(&format!("session {sid} poll held"));
    let mut second = Conn::open(room.web());
    let refused = second.exchange("GET", &target, b"");
    assert_eq!(refused.status, 400);
    assert_eq!(refused.body_text(), r#"{"code":3,"message":"Bad request"}"#);
    // The held poll hears the session close; the room hears it leave.
    assert_eq!(first.response().body_text(), "1");
    room.tcp.expect(&format!("* {name} left"));
    let gone = second.exchange("GET", &target, b"");
    assert_eq!(
        gone.body_text(),
        r#"{"code":1,"message":"Session ID unknown"}"#
    );
    room.goes_on();
}

#[test]
fn garbage_on_socket_io_is_400_with_the_engine_io_error() {
    let mut room = Room::new(&[]);
    let mut conn = Conn::open(room.web());
    // Engine.IO's error codes, with their messages.
    let error = |code| match code {
        0 => r#"{"code":0,"message":"Transport unknown"}"#,
        1 => r#"{"code":1,"message":"Session ID unknown"}"#,
        3 => r#"{"code":3,"message":"Bad request"}"#,
        _ => r#"{"code":5,"message":"Unsupported protocol version"}"#,
    };
    for (method, target, body, code) in [
        ("GET", "/socket.io/?EIO=3&transport=polling", "", 5),
        ("GET", "/socket.io/?transport=polling", "", 5),
        ("GET", "/socket.io/?EIO=4&transport=pigeon", "", 0),
        ("GET", "/socket.io/?EIO=4", "", 0),
        ("GET", "/socket.io/?EIO=4&transport=polling&sid=nope", "", 1),
        (
            "POST",
            "/socket.io/?EIO=4&transport=polling&sid=nope",
            "40",
            1,
        ),
        ("POST", "/socket.io/?EIO=4&transport=polling", "40", 3),
    ] {
        // One keep-alive connection for all: each refusal leaves it usable.
        let response = conn.exchange(method, target, body.as_bytes());
        assert_eq!(response.status, 400, "{method} {target}: {response:?}");
        let json = response.header("content-type");
        assert_eq!(json.as_deref(), Some("application/json"));
        assert_eq!(response.body_text(), error(code), "{method} {target}");
    }
    // A body that is not Engine.IO ends its session.
    let (sid, name) = sio_over_polling(&mut room);
    let target = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    let refused = conn.exchange("POST", &target, b"9nonsense");
    assert_eq!(refused.status, 400);
    room.tcp.expect(&format!("* {name} left"));
    room.goes_on();
}

#[test]
fn a_binary_attachment_disconnects_with_a_warning() {
    // Over a WebSocket: a binary event, then a binary frame.
    for bytes in [
        frame(
            true,
            TEXT,
            br#"451-["message",{"_placeholder":true,"num":0}]"#,
            true,
        ),
        frame(true, BINARY, b"\x04attachment", true),
    ] {
        let mut room = Room::new(&[]);
        let (mut ws, name, _) = sio_over_websocket(&mut room);
        ws.send(&bytes).expect("send");
        ws.close_code();
        room.tcp.expect(&format!("* {name} left"));
        let warning = room.server.wait_for_log("binary attachment");
        assert!(warning.contains("WARN"), "{warning}");
        room.goes_on();
    }
    // Over polling: a base64 binary packet in a body.
    let mut room = Room::new(&[]);
    let (sid, name) = sio_over_polling(&mut room);
    let target = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    let mut conn = Conn::open(room.web());
    let answer = conn.exchange("POST", &target, b"bAQID");
    assert_eq!(answer.status, 400, "{answer:?}");
    room.tcp.expect(&format!("* {name} left"));
    let warning = room.server.wait_for_log("binary attachment");
    assert!(warning.contains("WARN"), "{warning}");
    room.goes_on();
}
