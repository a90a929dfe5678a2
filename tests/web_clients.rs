//! `reactor chat --web` with real clients none of us wrote: the official
//! Socket.IO client for node, `python-socketio` and Python's `websockets`,
//! each in a room with a TCP member (a raw socket, as `nc` would be), both
//! directions checked. The clients are driven by the scripts in
//! `tests/clients/` (see `clients/mod.rs`); without python3, node or a
//! client library a test says what it skipped and passes, unless
//! `REACTOR_REQUIRE_TOOLS=1`.

mod clients;
mod common;

use std::process::Command;

use serde_json::json;

use clients::{node_client, python_with, script, Driver};
use common::{LineClient, Server};

/// Which transports a Socket.IO client is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transports {
    /// The library's default: long-polling, then the upgrade to a
    /// WebSocket.
    Default,
    /// A WebSocket from the start.
    WebSocketOnly,
    /// Long-polling throughout.
    PollingOnly,
}

impl Transports {
    fn arg(self) -> &'static str {
        match self {
            Transports::Default => "default",
            Transports::WebSocketOnly => "websocket",
            Transports::PollingOnly => "polling",
        }
    }
}

fn python_socketio() -> Option<Command> {
    python_with(&["socketio", "websocket"]).map(|mut python| {
        python.arg(script("sio_driver.py"));
        python
    })
}

fn node_socketio() -> Option<Command> {
    node_client().map(|mut node| {
        node.arg("sio_driver.js");
        node
    })
}

/// The conversation every Socket.IO client has, in a room with `bob`, a
/// TCP member: each event of the contract's table, both directions.
fn socketio_conversation(mut client: Command, transports: Transports) {
    let server = Server::start_web(&[]);
    let web = server.web.expect("a web address");
    let mut bob = LineClient::connect(server.addr);
    bob.expect("* welcome guest-1, you are in #lobby");
    bob.send("/nick bob");
    bob.expect("* you are now bob");

    client.args([format!("http://{web}"), transports.arg().to_string()]);
    let mut sio = Driver::start(client);
    let connected = sio.expect("the connection", |v| v["connected"] == true);
    match transports {
        Transports::WebSocketOnly => assert_eq!(connected["transport"], "websocket"),
        Transports::PollingOnly => assert_eq!(connected["transport"], "polling"),
        Transports::Default => {}
    }
    sio.expect_notice("welcome guest-2, you are in #lobby");
    bob.expect("* guest-2 joined");

    assert_eq!(
        sio.call("nick", json!(["alice"])),
        json!({"ok": true, "name": "alice"})
    );
    bob.expect("* guest-2 is now alice");
    assert_eq!(
        sio.call("nick", json!(["bob"])),
        json!({"ok": false, "error": "name bob is taken"})
    );

    assert_eq!(sio.call("message", json!(["hi"])), json!({"ok": true}));
    bob.expect("alice: hi");
    bob.send("hello alice, 你好");
    sio.expect_event(
        "message",
        json!({"from": "bob", "text": "hello alice, 你好"}),
    );

    assert_eq!(
        sio.call("join", json!(["rust"])),
        json!({"ok": true, "room": "rust"})
    );
    bob.expect("* alice left");
    bob.send("/join rust");
    bob.expect("* you are in #rust");
    sio.expect_notice("bob joined");
    assert_eq!(
        sio.call("who", json!([])),
        json!({"room": "rust", "members": ["alice", "bob"]})
    );
    assert_eq!(
        sio.call("rooms", json!([])),
        json!({"rooms": [{"name": "rust", "members": 2}]})
    );

    assert_eq!(
        sio.call("msg", json!([{"to": "nobody", "text": "psst"}])),
        json!({"ok": false, "error": "no such user nobody"})
    );
    assert_eq!(
        sio.call("msg", json!([{"to": "bob", "text": "psst"}])),
        json!({"ok": true})
    );
    bob.expect("[private] alice: psst");
    bob.send("/msg alice secret");
    sio.expect_event("private", json!({"from": "bob", "text": "secret"}));
    assert_eq!(sio.call("me", json!(["waves"])), json!({"ok": true}));
    bob.expect("* alice waves");

    // `line`: typed as at a terminal, answered in events.
    sio.emit("line", json!(["/help"]));
    sio.expect("a help notice naming /nick", |v| {
        v["event"] == "notice"
            && v["args"][0]["text"]
                .as_str()
                .is_some_and(|t| t.contains("/nick"))
    });
    sio.emit("line", json!(["/bogus"]));
    sio.expect_event("error", json!({"text": "unknown command /bogus"}));
    sio.emit("line", json!(["typed as a line"]));
    bob.expect("alice: typed as a line");
    sio.emit("message", json!(["no ack asked"]));
    bob.expect("alice: no ack asked");

    let want = match transports {
        Transports::PollingOnly => "polling",
        Transports::Default | Transports::WebSocketOnly => "websocket",
    };
    // Where an upgrade may still be under way, the driver waits for it.
    sio.send(json!({"op": "transport"}));
    let transport = sio.expect("the transport", |v| v.get("transport").is_some());
    assert_eq!(transport["transport"], want, "after the conversation");
    // Once more after the upgrade (if there was one): both directions.
    assert_eq!(sio.call("message", json!(["last"])), json!({"ok": true}));
    bob.expect("alice: last");
    bob.send("bye alice");
    sio.expect_event("message", json!({"from": "bob", "text": "bye alice"}));

    sio.send(json!({"op": "disconnect"}));
    sio.expect("the disconnection", |v| v["disconnected"] == true);
    bob.expect("* alice left");
    sio.finish();
    bob.send("/who");
    bob.expect("* in #rust: bob");
}

#[test]
fn python_socketio_with_default_transports() {
    if let Some(client) = python_socketio() {
        socketio_conversation(client, Transports::Default);
    }
}

#[test]
fn python_socketio_over_websocket_only() {
    if let Some(client) = python_socketio() {
        socketio_conversation(client, Transports::WebSocketOnly);
    }
}

#[test]
fn python_socketio_over_polling_only() {
    if let Some(client) = python_socketio() {
        socketio_conversation(client, Transports::PollingOnly);
    }
}

#[test]
fn node_socketio_client_with_default_transports() {
    if let Some(client) = node_socketio() {
        socketio_conversation(client, Transports::Default);
    }
}

#[test]
fn node_socketio_client_over_websocket_only() {
    if let Some(client) = node_socketio() {
        socketio_conversation(client, Transports::WebSocketOnly);
    }
}

#[test]
fn node_socketio_client_over_polling_only() {
    if let Some(client) = node_socketio() {
        socketio_conversation(client, Transports::PollingOnly);
    }
}

/// Python's `websockets` on `/ws`, as a script would use it.
fn websockets_client(url: &str) -> Option<Driver> {
    let mut python = python_with(&["websockets.sync.client"])?;
    python.arg(script("ws_driver.py")).arg(url);
    Some(Driver::start(python))
}

fn send_line(ws: &mut Driver, text: &str) {
    ws.send(json!({"op": "send", "text": text}));
    ws.expect("the frame sent", |v| v["sent"] == true);
}

fn expect_frame(ws: &mut Driver, text: &str) {
    ws.expect(&format!("the frame {text:?}"), |v| v["text"] == text);
}

#[test]
fn python_websockets_speaks_lines_on_ws() {
    let server = Server::start_web(&["--max-line", "64"]);
    let url = format!("ws://{}/ws", server.web.expect("a web address"));
    let mut bob = LineClient::connect(server.addr);
    bob.expect("* welcome guest-1, you are in #lobby");
    bob.send("/nick bob");
    bob.expect("* you are now bob");
    let Some(mut ws) = websockets_client(&url) else {
        return;
    };
    expect_frame(&mut ws, "* welcome guest-2, you are in #lobby");
    bob.expect("* guest-2 joined");

    send_line(&mut ws, "/nick carol");
    expect_frame(&mut ws, "* you are now carol");
    bob.expect("* guest-2 is now carol");
    send_line(&mut ws, "hi bob, 你好");
    bob.expect("carol: hi bob, 你好");
    bob.send("hi carol");
    expect_frame(&mut ws, "bob: hi carol");
    send_line(&mut ws, "/who");
    expect_frame(&mut ws, "* in #lobby: bob, carol");
    send_line(&mut ws, &"x".repeat(65));
    expect_frame(&mut ws, "! line too long (max 64 bytes)");
    send_line(&mut ws, &"y".repeat(64));
    bob.expect(&format!("carol: {}", "y".repeat(64)));

    // The close handshake from the client.
    ws.send(json!({"op": "close"}));
    ws.expect("the close", |v| v.get("closed").is_some());
    ws.finish();
    bob.expect("* carol left");

    // And `/quit`: `* bye`, then the server closes with 1000.
    let mut quitter = websockets_client(&url).expect("websockets was there a moment ago");
    quitter.expect("the welcome", |v| v.get("text").is_some());
    bob.expect("* guest-3 joined");
    send_line(&mut quitter, "/quit");
    expect_frame(&mut quitter, "* bye");
    assert_eq!(
        quitter.expect("the close", |v| v.get("closed").is_some())["closed"],
        1000
    );
    bob.expect("* guest-3 left");
    quitter.send(json!({"op": "close"}));
    quitter.finish();
    bob.send("/who");
    bob.expect("* in #lobby: bob");
}
