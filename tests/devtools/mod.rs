//! Headless Chromium, driven over the DevTools protocol, for the tests of
//! the chat page.
//!
//! Why not `chromium --dump-dom`: it dumps the page once the page has
//! loaded and its virtual clock has run out, and a page talking over a
//! WebSocket is not finished by then (a reply that takes a few seconds to
//! come is simply missed). So the test asks the page itself, over the
//! protocol Chromium's own developer tools speak, and waits for the answer.
//!
//! The protocol runs on a pipe (`--remote-debugging-pipe`): Chromium reads
//! commands on its descriptor 3 and writes answers and events on its
//! descriptor 4, each one JSON object ended by a NUL byte. A shell moves
//! our stdin and stdout pipes to 3 and 4 before it becomes Chromium, so no
//! port is opened and no `unsafe` is needed to arrange descriptors.
//!
//! ```text
//!  {"id":1,"method":"Target.createTarget","params":{"url":"about:blank"}}\0 ->
//!  <- {"id":1,"result":{"targetId":"..."}}\0
//!  <- {"method":"Page.loadEventFired","sessionId":"...","params":{...}}\0
//! ```

use std::io::{self, BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::common::PATIENCE;

/// The names Chromium goes by (Debian's first).
const PROGRAMS: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

/// Bound on one answer or event: a browser starting on a loaded machine
/// is slow, and only a broken one takes this long.
const BROWSER_PATIENCE: Duration = Duration::from_secs(3 * PATIENCE.as_secs());

/// How long Chromium is given to close by itself before it is killed.
const CLOSE_WITHIN: Duration = Duration::from_secs(5);

/// Chromium's program name, if one runs. Without one, says what is skipped
/// and why, and returns `None`, unless `REACTOR_REQUIRE_TOOLS=1`, which
/// turns it into a failure.
pub fn chromium() -> Option<&'static str> {
    let runs = |program: &&'static str| {
        Command::new(program)
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .is_ok_and(|out| out.status.success())
    };
    if let Some(program) = PROGRAMS.into_iter().find(runs) {
        return Some(program);
    }
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    let problem = format!("none of {PROGRAMS:?} can be run (apt-get install chromium)");
    if std::env::var("REACTOR_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("{test}: {problem}, and REACTOR_REQUIRE_TOOLS=1 makes that a failure");
    }
    // Straight to stderr: the test harness captures `eprintln!`, and a
    // skip should be seen.
    let _ = writeln!(io::stderr(), "skipped {test}: {problem}");
    None
}

/// A headless Chromium with a fresh profile; closed, then killed, on drop.
pub struct Chromium {
    child: Child,
    commands: ChildStdin,
    /// Answers and events, parsed, from the reader thread.
    messages: Receiver<Value>,
    /// Events that arrived while an answer was awaited.
    events: Vec<Value>,
    next_id: u64,
    profile: PathBuf,
}

/// A tab, attached: its DevTools session.
pub struct Page {
    session: String,
}

impl Chromium {
    /// Starts `program` headless, with a new profile directory.
    pub fn launch(program: &str) -> Chromium {
        let profile = fresh_profile();
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>&2"#)
            .arg(program)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // Its own chatter (D-Bus, fonts) is not ours to judge.
            .stderr(Stdio::null());
        // Its own process group: the renderers it forks go with it.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        let commands = child.stdin.take().expect("chromium's command pipe");
        let replies = child.stdout.take().expect("chromium's reply pipe");
        let (tx, messages) = mpsc::channel();
        std::thread::spawn(move || {
            for message in BufReader::new(replies).split(0).map_while(Result::ok) {
                let Ok(value) = serde_json::from_slice::<Value>(&message) else {
                    continue;
                };
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        Chromium {
            child,
            commands,
            messages,
            events: Vec::new(),
            next_id: 1,
            profile,
        }
    }

    /// Sends `method` (to a page's session, or to the browser) and returns
    /// its result; fails the test on an error or no answer in time.
    pub fn call(&mut self, page: Option<&Page>, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut command = json!({ "id": id, "method": method, "params": params });
        if let Some(page) = page {
            command["sessionId"] = json!(page.session);
        }
        let mut bytes = command.to_string().into_bytes();
        bytes.push(0);
        self.commands
            .write_all(&bytes)
            .unwrap_or_else(|e| panic!("{method}: chromium's pipe: {e}"));
        let what = format!("answer to {method} {params:.200}");
        let answer = self.next_matching(&what, |m| m["id"] == json!(id));
        if !answer["error"].is_null() {
            panic!("{method} failed: {}", answer["error"]);
        }
        answer["result"].clone()
    }

    /// Waits for event `method` on `page`; returns its parameters.
    pub fn event(&mut self, page: &Page, method: &str) -> Value {
        let ours =
            |m: &Value| m["method"] == json!(method) && m["sessionId"] == json!(page.session);
        if let Some(at) = self.events.iter().position(ours) {
            return self.events.remove(at)["params"].clone();
        }
        self.next_matching(method, ours)["params"].clone()
    }

    /// The next message that `wanted`; events before it are kept.
    fn next_matching(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + BROWSER_PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = self.messages.recv_timeout(left).unwrap_or_else(|e| {
                panic!("no {what} from chromium within {BROWSER_PATIENCE:?}: {e}")
            });
            if wanted(&message) {
                return message;
            }
            if message.get("method").is_some() {
                self.events.push(message);
            }
        }
    }

    /// Opens `url` in a new tab and waits until it has loaded.
    pub fn open(&mut self, url: &str) -> Page {
        let target = self.call(None, "Target.createTarget", json!({ "url": "about:blank" }));
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target["targetId"], "flatten": true }),
        );
        let session = attached["sessionId"].as_str().expect("a session id");
        let page = Page {
            session: session.to_string(),
        };
        self.call(Some(&page), "Page.enable", json!({}));
        self.call(Some(&page), "Page.navigate", json!({ "url": url }));
        self.event(&page, "Page.loadEventFired");
        page
    }

    /// Evaluates `expression` in the page (waiting for it, if it is a
    /// promise); returns its value.
    pub fn evaluate(&mut self, page: &Page, expression: &str) -> Value {
        let params = json!({
            "expression": expression,
            "awaitPromise": true,
            "returnByValue": true,
        });
        let result = self.call(Some(page), "Runtime.evaluate", params);
        if let Some(thrown) = result.get("exceptionDetails") {
            panic!("{expression} threw: {thrown}");
        }
        result["result"]["value"].clone()
    }

    /// A PNG of the page as a `width` x `height` CSS-pixel window shows it.
    pub fn screenshot(&mut self, page: &Page, width: u32, height: u32) -> Vec<u8> {
        let metrics = json!({
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false,
        });
        self.call(Some(page), "Emulation.setDeviceMetricsOverride", metrics);
        let shot = self.call(
            Some(page),
            "Page.captureScreenshot",
            json!({ "format": "png" }),
        );
        let data = shot["data"].as_str().expect("screenshot data");
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, data)
            .expect("screenshot base64")
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // Asked to close, Chromium lets go of the pipe when it is done;
        // whatever is left of its process group after that is killed.
        let close = b"{\"id\":0,\"method\":\"Browser.close\"}\0";
        if self.commands.write_all(close).is_ok() {
            let deadline = Instant::now() + CLOSE_WITHIN;
            let left = || deadline.saturating_duration_since(Instant::now());
            while self.messages.recv_timeout(left()).is_ok() {}
        }
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// A new, empty profile directory under the system's temporary directory.
fn fresh_profile() -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!("reactor-chromium-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a profile directory");
    dir
}

/// `text` as a URL query value: everything but the unreserved characters
/// percent-encoded, byte by byte.
pub fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
