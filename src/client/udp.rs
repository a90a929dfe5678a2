//! `reactor client ADDR --udp`: one datagram per stdin line, one printed
//! line per reply.
//!
//! UDP has no end-of-stream: the server cannot say "that was everything".
//! So once stdin has ended and every line is sent, the client waits for
//! `--wait` milliseconds of silence (the timer is re-armed by every reply)
//! and then stops. An ICMP "port unreachable" for one of our datagrams comes
//! back as `ConnectionRefused` on the connected socket: nobody listens
//! there, which is reported as an error.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::event_loop::datagram::{self, BufferSizes};
use crate::event_loop::{Handle, Io, Protocol, Readiness, SourceInterest, TimerId, UdpSocket};

use super::stdin::{Stdin, StdinRead};
use super::{print, Client};
use crate::process::Failure;

/// Source numbers.
const STDIN: usize = 0;
const SOCKET: usize = 1;

/// Lines kept while the socket would block; stdin waits beyond that.
const MAX_PENDING: usize = 256;

/// Chunks of stdin read per event before replies get a turn.
const STDIN_BUDGET: usize = 16;

/// The client's one timer: `--wait` passed without a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOver;

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
    /// Lines not sent yet because the socket would block.
    pending: VecDeque<Vec<u8>>,
    /// The socket's registration; `None` until [`start`](UdpClient::start).
    interest: Option<SourceInterest>,
    /// How long to wait for replies after the last line.
    wait: Duration,
    /// The armed silence timer.
    wait_timer: Option<TimerId>,
    recv_buf: Vec<u8>,
    outcome: Option<Result<(), String>>,
}

impl UdpClient {
    /// A client socket for `server` (bound to an ephemeral port).
    pub fn new(server: SocketAddr, wait: Duration) -> io::Result<UdpClient> {
        let (socket, buffers) = datagram::bind_for(server, BufferSizes::default())?;
        log::debug!("udp client socket {buffers}");
        socket.connect(server)?;
        Ok(UdpClient {
            server,
            socket,
            stdin: None,
            input: Input::Sending,
            partial_line: Vec::new(),
            pending: VecDeque::new(),
            interest: None,
            wait,
            wait_timer: None,
            recv_buf: vec![0; datagram::RECV_BUFFER],
            outcome: None,
        })
    }

    /// Reads stdin and sends each complete line, until stdin would block,
    /// ends, or too many lines wait for the socket.
    fn pump_stdin(&mut self, io: &mut Io<WaitOver>) {
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
                Err(e) => return self.finish(io, Err(format!("cannot read stdin: {e}"))),
            }
            self.send_pending(io);
        }
        self.send_pending(io);
    }

    /// Sends waiting lines until the socket would block.
    fn send_pending(&mut self, io: &mut Io<WaitOver>) {
        while let Some(line) = self.pending.front() {
            match self.socket.send(line) {
                Ok(_) => {
                    self.pending.pop_front();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.fail(io, e),
            }
        }
        self.watch_writable(io, !self.pending.is_empty());
        if self.input == Input::Ended && self.pending.is_empty() && self.wait_timer.is_none() {
            self.wait_timer = Some(io.set_timer(self.wait, WaitOver));
        }
    }

    /// Prints replies, one per line.
    fn receive(&mut self, io: &mut Io<WaitOver>) {
        for _ in 0..datagram::RECV_BUDGET {
            match self.socket.recv(&mut self.recv_buf) {
                Ok(n) => {
                    let mut line = self.recv_buf[..n].to_vec();
                    line.push(b'\n');
                    if !print(&line) {
                        return self.finish(io, Ok(()));
                    }
                    if let Some(timer) = self.wait_timer.take() {
                        io.cancel_timer(timer);
                        self.wait_timer = Some(io.set_timer(self.wait, WaitOver));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.fail(io, e),
            }
        }
        io.revisit_source(SOCKET);
    }

    fn watch_writable(&mut self, io: &mut Io<WaitOver>, want: bool) {
        let Some(interest) = self.interest.as_mut() else {
            return;
        };
        if let Err(e) = interest.want_writable(io, &mut self.socket, want) {
            self.fail(io, e);
        }
    }

    fn fail(&mut self, io: &mut Io<WaitOver>, e: io::Error) {
        let outcome = Err(format!("udp {}: {e}", self.server));
        self.finish(io, outcome);
    }

    fn finish(&mut self, io: &mut Io<WaitOver>, outcome: Result<(), String>) {
        if self.outcome.is_none() {
            self.outcome = Some(outcome);
        }
        self.stdin = None;
        io.stop();
    }
}

impl Protocol for UdpClient {
    type Timer = WaitOver;

    fn on_source(&mut self, io: &mut Io<WaitOver>, source: usize, ready: Readiness) {
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

    fn on_wake(&mut self, io: &mut Io<WaitOver>) {
        self.pump_stdin(io);
    }

    fn on_timer(&mut self, io: &mut Io<WaitOver>, _timer: WaitOver) {
        // Silence for --wait after the last line: done.
        self.wait_timer = None;
        self.finish(io, Ok(()));
    }

    fn on_shutdown(&mut self, io: &mut Io<WaitOver>) {
        self.finish(io, Ok(()));
    }
}

impl Client for UdpClient {
    /// Registers the socket and opens stdin.
    fn start(&mut self, io: &mut Io<WaitOver>, handle: Handle) -> Result<(), Failure> {
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
