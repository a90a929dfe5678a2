//! The chat page (`GET /` of `reactor chat --web`) in a real browser:
//! headless Chromium opens it in self-test mode and talks with a TCP
//! member, who checks what arrived over its plain line protocol; the page
//! writes down what it saw, and the test reads that back (`devtools/`
//! says how). Without Chromium the test says what it skipped and passes,
//! unless `REACTOR_REQUIRE_TOOLS=1`.
//!
//! `REACTOR_SCREENSHOT=docs/chat-page.png cargo test --test browser`
//! also saves what the page looks like at the end, as in the docs.

mod common;
mod devtools;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use serde_json::{json, Value};

use common::{LineClient, PATIENCE};
use devtools::{chromium, query_value, Chromium, Page};

/// What the browser says, after choosing a name: Chinese too, which must
/// arrive as typed.
const SAID: &str = "hi ann, this is Chromium \u{4f60}\u{597d}!";

/// What the TCP member answers: privately first, then to the room.
const WHISPER: &str = "psst: a private word";
/// Markup in it must be shown as typed, not obeyed.
const REPLY: &str = "welcome, mei! <b>tags</b> from others <img src=x> stay text";

/// `reactor chat --bind 127.0.0.1:0 --web ADDR`, killed on drop.
struct WebChat {
    child: Option<Child>,
    /// From the first readiness line (`listening on tcp://...`).
    tcp: SocketAddr,
    /// From the second (`listening on http://...`).
    web: SocketAddr,
}

impl WebChat {
    /// Starts the chat with its web listener on `web` (port 0: any).
    fn start(web: &str) -> WebChat {
        let mut child = Command::new(env!("CARGO_BIN_EXE_reactor"))
            .args(["chat", "--bind", "127.0.0.1:0", "--web", web])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start reactor chat --web");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        // Reads both lines, and keeps the pipe open after them.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let ready = || -> (String, SocketAddr) {
            let line = rx.recv_timeout(PATIENCE).expect("a readiness line");
            let (scheme, addr) = line
                .strip_prefix("listening on ")
                .and_then(|rest| rest.split_once("://"))
                .unwrap_or_else(|| panic!("not a readiness line: {line:?}"));
            (scheme.to_string(), addr.parse().expect("an address"))
        };
        let (tcp_scheme, tcp) = ready();
        let (web_scheme, web) = ready();
        assert_eq!((tcp_scheme.as_str(), web_scheme.as_str()), ("tcp", "http"));
        WebChat {
            child: Some(child),
            tcp,
            web,
        }
    }

    /// Shuts the server down as an operator would (SIGTERM), and waits
    /// until it has exited.
    fn stop(mut self) {
        let mut child = self.child.take().expect("a running server");
        let pid = child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -TERM {pid}");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        let exited = rx.recv_timeout(PATIENCE).expect("the server exits");
        assert!(exited.as_ref().is_ok_and(|s| s.success()), "{exited:?}");
    }
}

impl Drop for WebChat {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn a_browser_and_a_tcp_member_talk_through_the_chat_page() {
    let Some(program) = chromium() else {
        return;
    };
    let chat = WebChat::start("127.0.0.1:0");
    let mut ann = LineClient::connect(chat.tcp);
    ann.expect("* welcome guest-1, you are in #lobby");
    ann.send("/nick ann");
    ann.expect("* you are now ann");

    let mut browser = Chromium::launch(program);
    let url = format!(
        "http://{}/?selftest={}&selftest={}",
        chat.web,
        query_value("/nick mei"),
        query_value(SAID)
    );
    let page = browser.open(&url);

    // Over TCP the browser is a member like any other.
    ann.expect("* guest-2 joined");
    ann.expect("* guest-2 is now mei");
    ann.expect(&format!("mei: {SAID}"));
    ann.send(&format!("/msg mei {WHISPER}"));
    ann.send(REPLY);

    let transcript = browser.evaluate(&page, "window.selftestDone");
    check_transcript(transcript.as_str().expect("the transcript, as text"));
    check_what_is_shown(&mut browser, &page);

    if let Ok(path) = std::env::var("REACTOR_SCREENSHOT") {
        let png = browser.screenshot(&page, 760, 460);
        std::fs::write(&path, png).expect("write the screenshot");
    }
}

/// What the page heard and sent, in its own words.
fn check_transcript(transcript: &str) {
    let events = parse(transcript);
    let saw = |kind: &str, data: Value| events.contains(&(kind.to_string(), data));
    assert!(saw("sent", json!(["line", "/nick mei"])), "{transcript}");
    assert!(
        saw("notice", json!({ "text": "you are now mei" })),
        "{transcript}"
    );
    assert!(saw("sent", json!(["message", SAID])), "{transcript}");
    let private = json!({ "from": "ann", "text": WHISPER });
    assert!(saw("private", private), "{transcript}");
    let reply = json!({ "from": "ann", "text": REPLY });
    assert!(saw("message", reply), "{transcript}");
    assert!(
        saw("who", json!({ "room": "lobby", "members": ["ann", "mei"] })),
        "{transcript}"
    );
    assert_eq!(transcript.lines().last(), Some("done"), "{transcript}");
}

/// What a person sees: the room, who is in it, and the conversation,
/// where what others typed is text, never markup.
fn check_what_is_shown(browser: &mut Chromium, page: &Page) {
    let shown = browser.evaluate(
        page,
        r##"({
            room: document.getElementById("room").textContent,
            members: [...document.querySelectorAll("#members li")].map((li) => li.textContent),
            me: document.querySelector("#members li.me")?.textContent,
            last: document.querySelector("#lines li:last-child")?.className,
            lastText: document.querySelector("#lines li:last-child .text")?.textContent,
            markup: document.querySelectorAll("#lines b, #lines img").length,
        })"##,
    );
    assert_eq!(shown["room"], "#lobby", "{shown}");
    assert_eq!(shown["members"], json!(["ann", "mei"]), "{shown}");
    assert_eq!(shown["me"], "mei", "{shown}");
    assert_eq!(shown["last"], "message", "{shown}");
    assert_eq!(shown["lastText"], REPLY, "{shown}");
    assert_eq!(shown["markup"], 0, "{shown}");
}

/// The transcript's lines, `KIND JSON` each, as (kind, data); `sent` lines
/// (`sent message "text"`) as (`sent`, `["message","text"]`).
fn parse(transcript: &str) -> Vec<(String, Value)> {
    transcript
        .lines()
        .map(|line| {
            let (kind, rest) = line.split_once(' ').unwrap_or((line, ""));
            let data = match kind {
                "sent" => {
                    let (event, text) = rest.split_once(' ').unwrap_or((rest, "null"));
                    json!([
                        event,
                        serde_json::from_str::<Value>(text).unwrap_or(Value::Null)
                    ])
                }
                _ => serde_json::from_str(rest).unwrap_or(Value::Null),
            };
            (kind.to_string(), data)
        })
        .collect()
}

#[test]
fn the_page_reconnects_after_a_server_restart_and_keeps_its_name_and_room() {
    let Some(program) = chromium() else {
        return;
    };
    let chat = WebChat::start("127.0.0.1:0");
    let web = chat.web;
    let mut browser = Chromium::launch(program);
    let page = browser.open(&format!("http://{web}/"));
    wait_for(
        &mut browser,
        &page,
        r#"$("status").dataset.state === "online""#,
    );

    // Typed as a person would: into the box, then Enter.
    for line in ["/nick mei", "/join rust"] {
        type_line(&mut browser, &page, line);
    }
    let settled = r##"$("room").textContent === "#rust"
        && document.querySelector("#members li.me")?.textContent === "mei""##;
    wait_for(&mut browser, &page, settled);

    chat.stop();
    wait_for(
        &mut browser,
        &page,
        r#"$("status").dataset.state === "reconnecting"
            && $("lines").textContent.includes("server shutting down")"#,
    );

    // The same address again: the page finds it, and takes back its name
    // and its room.
    let chat = WebChat::start(&web.to_string());
    let online_again = format!(r#"$("status").dataset.state === "online" && {settled}"#);
    wait_for(&mut browser, &page, &online_again);
    let mut bo = LineClient::connect(chat.tcp);
    assert!(bo.line().starts_with("* welcome guest-"));
    bo.send("/join rust");
    bo.expect("* you are in #rust");
    bo.send("/who");
    let who = bo.line();
    assert!(
        who.starts_with("* in #rust: ") && who.ends_with(", mei"),
        "{who}"
    );
    bo.send("welcome back");
    wait_for(
        &mut browser,
        &page,
        r##"document.querySelector("#lines li:last-child")?.textContent.endsWith("welcome back")"##,
    );

    // Leaving on purpose is not a lost connection: no coming back.
    type_line(&mut browser, &page, "/quit");
    bo.expect("* mei left");
    wait_for(
        &mut browser,
        &page,
        r#"$("status").dataset.state === "offline" && $("lines").textContent.includes("bye")"#,
    );
}

/// Waits until the JavaScript `condition` holds in the page, checking it
/// again whenever the page changes (no polling); `$` is the page's
/// `getElementById`.
fn wait_for(browser: &mut Chromium, page: &Page, condition: &str) {
    let script = format!(
        r#"new Promise((resolve) => {{
            const holds = () => {{ try {{ return Boolean({condition}); }} catch (e) {{ return false; }} }};
            if (holds()) return resolve(true);
            const watch = new MutationObserver(() => {{
                if (holds()) {{ watch.disconnect(); resolve(true); }}
            }});
            watch.observe(document.body, {{ subtree: true, childList: true, attributes: true, characterData: true }});
        }})"#
    );
    assert_eq!(browser.evaluate(page, &script), json!(true), "{condition}");
}

/// Types `line` into the text box and presses Enter, as keyboard input.
fn type_line(browser: &mut Chromium, page: &Page, line: &str) {
    browser.evaluate(page, r#"$("text").focus()"#);
    browser.call(Some(page), "Input.insertText", json!({ "text": line }));
    for kind in ["keyDown", "keyUp"] {
        let enter = json!({
            "type": kind, "key": "Enter", "code": "Enter",
            "windowsVirtualKeyCode": 13, "text": "\r",
        });
        browser.call(Some(page), "Input.dispatchKeyEvent", enter);
    }
}
