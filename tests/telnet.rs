//! `reactor chat` with Telnet clients, black-box over loopback: first with
//! the bytes Debian's `telnet` sends, byte for byte (no tool needed), then
//! with the real `telnet` typing in a `tmux` pane.
//!
//! Without `telnet` or `tmux` the last test says what it skipped and
//! passes, unless `REACTOR_REQUIRE_TOOLS=1`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{connect, LineClient, Server, PATIENCE};
use reactor::proto::chat::state::GARBLED;

/// A client that reads bytes as they come, Telnet commands included.
struct Raw {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Raw {
    fn connect(addr: SocketAddr) -> Raw {
        let stream = connect(addr);
        let writer = stream.try_clone().expect("clone");
        Raw {
            reader: BufReader::new(stream),
            writer,
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write");
    }

    /// The next `n` bytes.
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut bytes = vec![0; n];
        self.reader.read_exact(&mut bytes).expect("read");
        bytes
    }

    /// The next line, which must hold no Telnet byte.
    fn line(&mut self) -> String {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line).expect("read");
        assert_eq!(line.pop(), Some(b'\n'), "a whole line: {line:?}");
        String::from_utf8(line).expect("UTF-8, no Telnet command")
    }
}

/// A chat server, a plain member in the lobby, and a raw client that has
/// read its welcome and been announced.
fn chat_with_two() -> (Server, LineClient, Raw) {
    let server = Server::start(&["chat"]);
    let mut plain = LineClient::connect(server.addr);
    plain.expect("* welcome guest-1, you are in #lobby");
    let mut raw = Raw::connect(server.addr);
    assert_eq!(raw.line(), "* welcome guest-2, you are in #lobby");
    plain.expect("* guest-2 joined");
    (server, plain, raw)
}

/// `IAC DO BINARY`: what the server says once a client shows it speaks
/// Telnet.
const DO_BINARY: [u8; 3] = [255, 253, 0];
/// `IAC WILL TIMING-MARK`: the answer to `IAC DO TIMING-MARK`.
const WILL_TIMING_MARK: [u8; 3] = [255, 251, 6];
/// `IAC WILL BINARY`: the client agrees.
const WILL_BINARY: &[u8] = &[255, 251, 0];

#[test]
fn the_line_telnet_garbles_is_dropped_with_a_notice_and_the_next_arrives() {
    let (_server, mut plain, mut telnet) = chat_with_two();
    // `你好 ✓` typed in Debian telnet's line mode: 9C, stripped to
    // Ctrl-\, became IAC BRK IAC DO TIMING-MARK.
    telnet.send(b"\xe4\xbd\xa0\xe5\xa5\xbd \xe2\xff\xf3\xff\xfd\x06\x93\r\n");
    assert_eq!(telnet.bytes(6), [DO_BINARY, WILL_TIMING_MARK].concat());
    assert_eq!(telnet.line(), format!("! {GARBLED}"));
    // In binary mode: the same line, as typed.
    telnet.send(&[WILL_BINARY, "你好 ✓\n".as_bytes()].concat());
    // The plain member's next line: the garbled one never reached it.
    plain.expect("guest-2: 你好 ✓");
    telnet.send(b"/who\r\n");
    assert_eq!(telnet.line(), "* in #lobby: guest-1, guest-2");
}

#[test]
fn telnet_negotiating_from_the_start_is_refused_all_but_binary() {
    let (_server, mut plain, mut telnet) = chat_with_two();
    // What `telnet -- HOST -PORT` opens with: DO/WILL ENCRYPT, DO SGA,
    // WILL TTYPE, NAWS, TSPEED, LFLOW, LINEMODE, NEW-ENVIRON, DO STATUS.
    telnet.send(b"\xff\xfd\x26\xff\xfb\x26\xff\xfd\x03\xff\xfb\x18\xff\xfb\x1f\xff\xfb\x20\xff\xfb\x21\xff\xfb\x22\xff\xfb\x27\xff\xfd\x05");
    let replies = telnet.bytes(11 * 3);
    assert_eq!(
        replies,
        [
            &DO_BINARY[..],
            &[255, 252, 0x26], // WONT ENCRYPT
            &[255, 254, 0x26], // DONT ENCRYPT
            &[255, 252, 3],    // WONT SUPPRESS-GO-AHEAD: it stays in line mode
            &[255, 254, 0x18],
            &[255, 254, 0x1f],
            &[255, 254, 0x20],
            &[255, 254, 0x21],
            &[255, 254, 0x22], // DONT LINEMODE
            &[255, 254, 0x27],
            &[255, 252, 5], // WONT STATUS
        ]
        .concat()
    );
    telnet.send(&[WILL_BINARY, "丝绸 ✓\r\n".as_bytes()].concat());
    plain.expect("guest-2: 丝绸 ✓");
}

#[test]
fn a_client_that_sends_no_telnet_command_never_receives_a_telnet_byte() {
    let (_server, mut plain, mut other) = chat_with_two();
    // 255 255 is a literal 255 and 255 then a letter is no command: both
    // lines are invalid UTF-8, answered as for anyone.
    other.send(b"\xff\xff\n\xff\x41\na\r\0b\nhello\n");
    assert_eq!(other.line(), "! invalid UTF-8");
    assert_eq!(other.line(), "! invalid UTF-8");
    // CR NUL is a CR, shown as a replacement character.
    plain.expect("guest-2: a\u{FFFD}b");
    plain.expect("guest-2: hello");
    other.send(b"/who\n");
    // `line` fails on any byte that is not UTF-8, 255 included.
    assert_eq!(other.line(), "* in #lobby: guest-1, guest-2");
}

/// Whether every one of `tools` is on the `PATH`. If not, says what is
/// skipped and why, or fails when `REACTOR_REQUIRE_TOOLS=1`.
fn have_tools(tools: &[&str]) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|tool| !std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
        .collect();
    if missing.is_empty() {
        return true;
    }
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    let problem = format!("{} not found on PATH", missing.join(" and "));
    if std::env::var("REACTOR_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("{test}: {problem}, and REACTOR_REQUIRE_TOOLS=1 makes that a failure");
    }
    let _ = writeln!(std::io::stderr(), "skipped {test}: {problem}");
    false
}

/// A tmux server of our own (its own socket, no user configuration),
/// killed when dropped, and the one window in it.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `command` in a detached session, in a UTF-8 locale (so typed
    /// Chinese is sent as UTF-8), on a pane wide enough for every line.
    fn start(name: &str, command: &str) -> Tmux {
        let tmux = Tmux {
            socket: format!("reactor-test-{}-{name}", std::process::id()),
        };
        let size = ["-x", "220", "-y", "30"];
        let mut args = vec!["new-session", "-d", "-s", "chat"];
        args.extend(size);
        args.push(command);
        tmux.run(&args);
        tmux
    }

    /// Runs one tmux command, bounded by [`PATIENCE`].
    fn run(&self, args: &[&str]) -> Output {
        let child = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env("LANG", "C.UTF-8")
            .env("LC_ALL", "C.UTF-8")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tmux");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        let output = rx
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|_| panic!("tmux {args:?} did not return"))
            .expect("wait for tmux");
        assert!(output.status.success(), "tmux {args:?}: {output:?}");
        output
    }

    /// Types `text` (literally), then presses each of `keys`.
    fn type_line(&self, text: &str, keys: &[&str]) {
        self.run(&["send-keys", "-t", "chat", "-l", text]);
        for key in keys {
            self.run(&["send-keys", "-t", "chat", key]);
        }
    }

    /// What the pane shows, without its trailing blank lines.
    fn screen(&self) -> String {
        let output = self.run(&["capture-pane", "-p", "-t", "chat"]);
        let text = String::from_utf8_lossy(&output.stdout);
        format!("{}\n", text.trim_end())
    }

    /// Waits until the pane shows `needle`; returns the screen.
    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the telnet pane never showed {needle:?}; it shows:\n{screen}"
            );
            // Polls a condition; the deadline above bounds a failure.
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let tmux = |args: &[&str]| {
            Command::new("tmux")
                .args(["-L", &self.socket])
                .args(args)
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .output()
        };
        // Where its socket is, to remove it after: tmux leaves it behind.
        let socket = tmux(&["display-message", "-p", "#{socket_path}"])
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string());
        // Ends telnet with it.
        let _ = tmux(&["kill-server"]);
        if let Ok(socket) = socket.as_deref() {
            if socket.contains(&self.socket) {
                let _ = std::fs::remove_file(socket);
            }
        }
    }
}

#[test]
fn real_telnet_in_tmux_sends_chinese_to_the_room() {
    if !have_tools(&["telnet", "tmux"]) {
        return;
    }
    let server = Server::start(&["chat"]);
    let mut plain = LineClient::connect(server.addr);
    // What the plain member receives, checked line by line and kept for
    // the transcript.
    let mut heard = Vec::new();
    let mut expect = |want: &str| {
        let line = plain.line();
        assert_eq!(line, want);
        heard.push(line);
    };
    expect("* welcome guest-1, you are in #lobby");
    let command = format!("telnet {} {}", server.addr.ip(), server.addr.port());
    let tmux = Tmux::start("chinese", &command);
    expect("* guest-2 joined");
    tmux.wait_for("* welcome guest-2, you are in #lobby");

    // The first line with a byte telnet mistakes for a key: garbled, and
    // its sender told so.
    tmux.type_line("你好 ✓", &["Enter"]);
    tmux.wait_for("! line dropped");
    // From here on in binary mode: as typed, 9C (in ✓), 9D (丝, telnet's
    // escape key when stripped) and 83 (七, Ctrl-C) included. Each is the
    // plain member's next line: the garbled one never reached it.
    tmux.type_line("你好 ✓", &["Enter"]);
    expect("guest-2: 你好 ✓");
    tmux.type_line("丝绸之路 七", &["Enter"]);
    expect("guest-2: 丝绸之路 七");
    // The terminal edits the line: a backspace erases a whole character.
    tmux.type_line("你好吗X", &["BSpace", "BSpace", "Enter"]);
    expect("guest-2: 你好");
    tmux.type_line("/who", &["Enter"]);
    let screen = tmux.wait_for("* in #lobby: guest-1, guest-2");

    let (ip, port) = (server.addr.ip(), server.addr.port());
    let transcript = format!(
        "$ {command}    (in tmux: what the pane shows)\n{screen}\n\
         $ nc {ip} {port}    (a plain member of the same room: what it receives)\n{}\n",
        heard.join("\n"),
    );
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join("telnet-transcript.txt");
    std::fs::write(&file, transcript).expect("write the transcript");
    let _ = writeln!(std::io::stderr(), "transcript in {}", file.display());
}
