//! `reactor client ADDR --udp`: one datagram per stdin line, one printed
//! line per reply.
//!
//! UDP has no end-of-stream: the server cannot say "that was everything".
//! So once stdin has ended and every line is sent, the client waits for
//! `--wait` milliseconds of silence (the timer is re-armed by every reply)
//! and then stops. An ICMP "port unreachable" for one of our datagrams comes
//! back as `ConnectionRefused` on the connected socket: nobody listens
//! there, which is reported as an error.
//!
//! UDP has no flow control either: at most `--window` datagrams are sent
//! ahead of their replies (`udp/window.rs`), and at the end the client says how
//! many datagrams it sent and how many replies came back (on stderr; exit
//! status 1 when datagrams went out and nothing came back).

mod window;

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use log::{debug, log_enabled, Level};

use crate::event_loop::datagram::{self, BufferSizes};
use crate::event_loop::{Handle, Io, Protocol, Readiness, SourceInterest, TimerId, UdpSocket};

use super::stdin::{Stdin, StdinRead};
use super::{print, Client};
use crate::process::Failure;
use window::{Counts, Verdict, Window};

/// Source numbers.
const STDIN: usize = 0;
const SOCKET: usize = 1;

/// Lines kept while the socket would block; stdin waits beyond that.
const MAX_PENDING: usize = 256;

/// Chunks of stdin read per event before replies get a turn.
const STDIN_BUDGET: usize = 16;

/// The client's timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UdpTimer {
    /// `--wait` passed without a reply after the last line was sent: done.
    Silence,
    /// The oldest datagram in a full window has waited `--wait`: stop
    /// counting it, and send more.
    GiveUp,
}

/// Where the client is with its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    /// Reading stdin and sending lines.
    Sending,
    /// Stdin ended; sending what is left, then waiting for replies.
    Ended,
}

/// The UDP client protocol.
#[derive(Debug)]
pub struct UdpClient {
    server: SocketAddr,
    socket: UdpSocket,
    stdin: Option<Stdin>,
    input: Input,
    /// The start of a line whose `\n` has not arrived.
    partial_line: Vec<u8>,
    /// Lines not sent yet: the window is full, or the socket would block.
    pending: VecDeque<Vec<u8>>,
    /// Datagrams sent ahead of their replies.
    window: Window,
    /// Datagrams sent, replies received.
    counts: Counts,
    /// The socket's registration; `None` until [`start`](UdpClient::start).
    interest: Option<SourceInterest>,
    /// How long to wait for replies after the last line.
    wait: Duration,
    /// The armed silence timer.
    wait_timer: Option<TimerId>,
    /// The armed timer that gives up on the oldest datagram in flight.
    give_up_timer: Option<TimerId>,
    recv_buf: Vec<u8>,
    outcome: Option<Result<(), String>>,
}

impl UdpClient {
    /// A client socket for `server` (bound to an ephemeral port), with at
    /// most `window` datagrams unanswered at once.
    pub fn new(server: SocketAddr, wait: Duration, window: usize) -> io::Result<UdpClient> {
        let (socket, buffers) = datagram::bind_for(server, BufferSizes::default())?;
        debug!("udp client socket {buffers}");
        socket.connect(server)?;
        Ok(UdpClient {
            server,
            socket,
            stdin: None,
            input: Input::Sending,
            partial_line: Vec::new(),
            pending: VecDeque::new(),
            window: Window::new(window, wait),
            counts: Counts::default(),
            interest: None,
            wait,
            wait_timer: None,
            give_up_timer: None,
            recv_buf: vec![0; datagram::RECV_BUFFER],
            outcome: None,
        })
    }

    /// Reads stdin and sends each complete line, until stdin would block,
    /// ends, or too many lines wait for the socket.
    fn pump_stdin(&mut self, io: &mut Io<UdpTimer>) {
        let mut chunks = 0;
        while self.input == Input::Sending && self.pending.len() < MAX_PENDING {
            if chunks == STDIN_BUDGET {
                io.revisit_source(STDIN);
                break;
            }
            chunks += 1;
            let Some(stdin) = self.stdin.as_mut() else {
                return;
            };
            match stdin.read() {
                Ok(StdinRead::Data(bytes)) => {
                    for piece in bytes.split_inclusive(|&b| b == b'\n') {
                        self.partial_line.extend_from_slice(piece);
                        if piece.ends_with(b"\n") {
                            let mut line = std::mem::take(&mut self.partial_line);
                            line.pop();
                            if line.ends_with(b"\r") {
                                line.pop();
                            }
                            self.pending.push_back(line);
                        }
                    }
                }
                Ok(StdinRead::WouldBlock) => break,
                Ok(StdinRead::Eof) => {
                    if !self.partial_line.is_empty() {
                        let last = std::mem::take(&mut self.partial_line);
                        self.pending.push_back(last);
                    }
                    self.input = Input::Ended;
                    self.stdin = None;
                }
                Err(e) => return self.finish(io, Err(format!("cannot read stdin: {e}")), false),
            }
            self.send_pending(io);
        }
        self.send_pending(io);
    }

    /// Sends waiting lines while the window has room and the socket takes
    /// them.
    fn send_pending(&mut self, io: &mut Io<UdpTimer>) {
        let mut blocked = false;
        while self.window.has_room() {
            let Some(line) = self.pending.front() else {
                break;
            };
            match self.socket.send(line) {
                Ok(_) => {
                    self.pending.pop_front();
                    self.window.sent(io.now());
                    self.counts.sent += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    blocked = true;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.fail(io, e),
            }
        }
        // Writable interest only for a socket that would block: a full
        // window waits for replies or the give-up timer instead.
        self.watch_writable(io, blocked);
        if !self.window.has_room() && self.give_up_timer.is_none() {
            if let Some(at) = self.window.next_expiry() {
                let after = at.saturating_duration_since(io.now());
                self.give_up_timer = Some(io.set_timer(after, UdpTimer::GiveUp));
            }
        }
        if self.input == Input::Ended && self.pending.is_empty() && self.wait_timer.is_none() {
            self.wait_timer = Some(io.set_timer(self.wait, UdpTimer::Silence));
        }
    }

    /// Prints replies, one per line; each lets one more datagram out.
    fn receive(&mut self, io: &mut Io<UdpTimer>) {
        let mut budget_left = true;
        for _ in 0..datagram::RECV_BUDGET {
            match self.socket.recv(&mut self.recv_buf) {
                Ok(n) => {
                    self.counts.replies += 1;
                    self.window.answered();
                    let mut line = self.recv_buf[..n].to_vec();
                    line.push(b'\n');
                    if !print(&line) {
                        // stdout is gone (`| head`): the user has seen
                        // enough, and the counts would only say so.
                        return self.finish(io, Ok(()), false);
                    }
                    if let Some(timer) = self.wait_timer.take() {
                        io.cancel_timer(timer);
                        self.wait_timer = Some(io.set_timer(self.wait, UdpTimer::Silence));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    budget_left = false;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.fail(io, e),
            }
        }
        if budget_left {
            io.revisit_source(SOCKET);
        }
        // Replies made room in the window (and perhaps in `pending`).
        self.pump_stdin(io);
    }

    fn watch_writable(&mut self, io: &mut Io<UdpTimer>, want: bool) {
        let Some(interest) = self.interest.as_mut() else {
            return;
        };
        if let Err(e) = interest.want_writable(io, &mut self.socket, want) {
            self.fail(io, e);
        }
    }

    fn fail(&mut self, io: &mut Io<UdpTimer>, e: io::Error) {
        let outcome = Err(format!("udp {}: {e}", self.server));
        self.finish(io, outcome, false);
    }

    /// Stops the loop with `outcome`, unless an earlier one stands. With
    /// `report`, the counts decide: a line on stderr, or the error when
    /// nothing came back.
    fn finish(&mut self, io: &mut Io<UdpTimer>, outcome: Result<(), String>, report: bool) {
        if self.outcome.is_none() {
            self.outcome = Some(match (outcome, report) {
                (Ok(()), true) => self.report(),
                (outcome, _) => outcome,
            });
        }
        self.stdin = None;
        io.stop();
    }

    /// Says what came back, at the level the log is set to (so `-qq`
    /// silences it like any warning); the error when nothing did.
    fn report(&self) -> Result<(), String> {
        match self.counts.verdict() {
            Verdict::Answered(counts) => {
                if log_enabled!(Level::Info) {
                    eprintln!("{counts}");
                }
                Ok(())
            }
            Verdict::Missing(counts) => {
                if log_enabled!(Level::Warn) {
                    eprintln!("warning: {counts}");
                }
                Ok(())
            }
            Verdict::Silent(counts) => Err(format!("udp {}: {counts}", self.server)),
        }
    }
}

impl Protocol for UdpClient {
    type Timer = UdpTimer;

    fn on_source(&mut self, io: &mut Io<UdpTimer>, source: usize, ready: Readiness) {
        match source {
            SOCKET => {
                if ready.writable {
                    self.send_pending(io);
                    self.pump_stdin(io);
                }
                if ready.readable {
                    self.receive(io);
                }
            }
            _ => self.pump_stdin(io),
        }
    }

    fn on_wake(&mut self, io: &mut Io<UdpTimer>) {
        self.pump_stdin(io);
    }

    fn on_timer(&mut self, io: &mut Io<UdpTimer>, timer: UdpTimer) {
        match timer {
            UdpTimer::Silence => {
                // Silence for --wait after the last line: done.
                self.wait_timer = None;
                self.finish(io, Ok(()), true);
            }
            UdpTimer::GiveUp => {
                self.give_up_timer = None;
                self.window.expire(io.now());
                self.pump_stdin(io);
            }
        }
    }

    fn on_shutdown(&mut self, io: &mut Io<UdpTimer>) {
        self.finish(io, Ok(()), true);
    }
}

impl Client for UdpClient {
    /// Registers the socket and opens stdin.
    fn start(&mut self, io: &mut Io<UdpTimer>, handle: Handle) -> Result<(), Failure> {
        let interest = SourceInterest::register(io, &mut self.socket, SOCKET)
            .map_err(|e| format!("cannot watch the UDP socket: {e}"))?;
        self.interest = Some(interest);
        let stdin =
            Stdin::open(io, STDIN, handle).map_err(|e| format!("cannot read stdin: {e}"))?;
        self.stdin = Some(stdin);
        self.pump_stdin(io);
        Ok(())
    }

    /// How the run ended.
    fn outcome(&self) -> Result<(), Failure> {
        self.outcome
            .clone()
            .unwrap_or(Ok(()))
            .map_err(Failure::Error)
    }
}
