//! `reactor client ADDR`: stdin to a TCP server, the server to stdout.
//!
//! The life of the client, as the loop sees it:
//!
//! 1. `Io::connect` starts a non-blocking connect; the connection is in
//!    state `Connecting` and the loop watches for writability.
//! 2. Writable: the loop checks `take_error` and calls [`TcpClient::on_open`],
//!    or reports the failure (refused, unreachable) to `on_closed`.
//! 3. Stdin readable: its bytes go to [`Io::send`]. When more than
//!    `--max-outbuf` bytes are queued (the server reads slowly), stdin is
//!    left unread until `on_drained`.
//! 4. End of stdin: `Io::shutdown_write` half-closes once the queue is
//!    flushed; the server sees end-of-file and can still answer.
//! 5. The server closes: everything it sent has been printed; the client
//!    stops, exit status 0. A reset or error: one `error:` line, status 1.
//!
//! The two directions end independently, as TCP lets them. A server may
//! finish first (say hello, then shut down its write half) and still read
//! what we send: then the client keeps copying stdin until it ends, as
//! `nc -N` does, and only then closes. Stopping at the server's
//! end-of-file would drop the rest of stdin on the floor and still exit 0.
//! If the server goes away for good instead, the next write fails, and
//! that is an error: input that could not be delivered.
//!
//! A connect that nobody answers (a SYN dropped by a full backlog or a
//! firewall) would wait for the kernel's own timeout, minutes on Linux;
//! `--connect-timeout` bounds it with a timer of the client's own.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::event_loop::{CloseReason, ConnId, Handle, Io, Protocol, Readiness, TimerId};

use super::stdin::{Stdin, StdinRead};
use super::{print, Client};
use crate::process::Failure;

/// Source number of stdin.
const STDIN: usize = 0;

/// Chunks of stdin sent per event before other sources get a turn.
const STDIN_BUDGET: usize = 16;

/// Where the client is with its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    /// Not connected yet: stdin waits.
    WaitingForConnect,
    /// Copying stdin to the socket.
    Copying,
    /// The socket's queue is full: stdin waits for `on_drained`.
    Paused,
    /// Stdin ended; our write half is (being) shut.
    Ended,
}

/// Where the server is with its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FromServer {
    /// It may send more.
    Open,
    /// It shut down its write half: it sends no more, but may still read.
    Ended,
}

/// The client's one timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpTimer {
    /// `--connect-timeout` passed and the connect has not completed.
    Connect,
}

/// The TCP client protocol.
#[derive(Debug)]
pub struct TcpClient {
    server: SocketAddr,
    conn: Option<ConnId>,
    stdin: Option<Stdin>,
    input: Input,
    from_server: FromServer,
    /// `--connect-timeout` (`None`: the kernel's own).
    connect_timeout: Option<Duration>,
    /// The connect timer, armed until the connect completes.
    connect_timer: Option<TimerId>,
    /// How the run ended: `None` while running.
    outcome: Option<Result<(), String>>,
}

type TcpIo = Io<TcpTimer>;

impl TcpClient {
    /// A client for `server` that gives up a connect after
    /// `connect_timeout` (`None`: when the kernel does); nothing happens
    /// until [`start`](Self::start).
    pub fn new(server: SocketAddr, connect_timeout: Option<Duration>) -> TcpClient {
        TcpClient {
            server,
            conn: None,
            stdin: None,
            input: Input::WaitingForConnect,
            from_server: FromServer::Open,
            connect_timeout,
            connect_timer: None,
            outcome: None,
        }
    }

    /// Copies what stdin has to the socket, within the budget and the
    /// queue bound.
    fn pump_stdin(&mut self, io: &mut TcpIo) {
        let (Some(conn), Some(stdin)) = (self.conn, self.stdin.as_mut()) else {
            return;
        };
        if !matches!(self.input, Input::Copying | Input::Paused) {
            return;
        }
        self.input = Input::Copying;
        for _ in 0..STDIN_BUDGET {
            if io.queued(conn) >= io.config().max_outbuf {
                self.input = Input::Paused;
                return;
            }
            match stdin.read() {
                Ok(StdinRead::Data(bytes)) => io.send(conn, bytes),
                Ok(StdinRead::WouldBlock) => return,
                Ok(StdinRead::Eof) => {
                    self.input = Input::Ended;
                    match self.from_server {
                        FromServer::Open => io.shutdown_write(conn),
                        // Both sides are done: close once the rest is sent.
                        FromServer::Ended => io.close(conn, CloseReason::PeerClosed),
                    }
                    return;
                }
                Err(e) => {
                    self.finish(io, Err(format!("cannot read stdin: {e}")));
                    return;
                }
            }
        }
        io.revisit_source(STDIN);
    }

    fn finish(&mut self, io: &mut TcpIo, outcome: Result<(), String>) {
        if self.outcome.is_none() {
            self.outcome = Some(outcome);
        }
        self.stdin = None;
        if let Some(conn) = self.conn.take() {
            io.close(conn, CloseReason::Requested);
        }
        io.stop();
    }
}

impl Protocol for TcpClient {
    type Timer = TcpTimer;

    fn on_open(&mut self, io: &mut TcpIo, _conn: ConnId) {
        if let Some(timer) = self.connect_timer.take() {
            io.cancel_timer(timer);
        }
        self.input = Input::Copying;
        self.pump_stdin(io);
    }

    fn on_input(&mut self, io: &mut TcpIo, _conn: ConnId, input: &[u8]) -> usize {
        if !print(input) {
            self.finish(io, Ok(()));
        }
        input.len()
    }

    /// The server sent its last byte. If stdin has ended too, close;
    /// otherwise keep sending it (the server may still be reading).
    fn on_peer_closed(&mut self, io: &mut TcpIo, conn: ConnId) {
        self.from_server = FromServer::Ended;
        if self.input == Input::Ended {
            io.close(conn, CloseReason::PeerClosed);
        }
    }

    fn on_closed(&mut self, io: &mut TcpIo, _conn: ConnId, reason: &CloseReason) {
        let outcome = match reason {
            CloseReason::ConnectFailed(e) => Err(format!("cannot connect to {}: {e}", self.server)),
            CloseReason::Error(e) => Err(format!("connection to {} failed: {e}", self.server)),
            CloseReason::PeerClosed
            | CloseReason::Requested
            | CloseReason::IdleTimeout
            | CloseReason::Shutdown
            | CloseReason::SlowConsumer
            | CloseReason::InputTooLarge => Ok(()),
        };
        self.conn = None;
        self.finish(io, outcome);
    }

    fn on_source(&mut self, io: &mut TcpIo, _source: usize, _ready: Readiness) {
        self.pump_stdin(io);
    }

    fn on_wake(&mut self, io: &mut TcpIo) {
        self.pump_stdin(io);
    }

    fn on_drained(&mut self, io: &mut TcpIo, _conn: ConnId) {
        if self.input == Input::Paused {
            self.pump_stdin(io);
        }
    }

    /// The connect did not complete in time: give up on it, as the kernel
    /// would, only sooner.
    fn on_timer(&mut self, io: &mut TcpIo, timer: TcpTimer) {
        match timer {
            TcpTimer::Connect => {
                self.connect_timer = None;
                let (Some(conn), Input::WaitingForConnect) = (self.conn, self.input) else {
                    return;
                };
                let secs = self.connect_timeout.map_or(0, |t| t.as_secs());
                let timed_out = io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no answer within {secs} s (--connect-timeout)"),
                );
                io.close(conn, CloseReason::ConnectFailed(timed_out));
            }
        }
    }
}

impl Client for TcpClient {
    /// Starts the connect and opens stdin.
    fn start(&mut self, io: &mut TcpIo, handle: Handle) -> Result<(), Failure> {
        let conn = io
            .connect(self.server)
            .map_err(|e| format!("cannot connect to {}: {e}", self.server))?;
        self.conn = Some(conn);
        self.connect_timer = self
            .connect_timeout
            .map(|after| io.set_timer(after, TcpTimer::Connect));
        let stdin =
            Stdin::open(io, STDIN, handle).map_err(|e| format!("cannot read stdin: {e}"))?;
        self.stdin = Some(stdin);
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
