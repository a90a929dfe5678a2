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

use std::net::SocketAddr;

use crate::event_loop::{CloseReason, ConnId, Handle, Io, NoTimer, Protocol, Readiness};

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

/// The TCP client protocol.
#[derive(Debug)]
pub struct TcpClient {
    server: SocketAddr,
    conn: Option<ConnId>,
    stdin: Option<Stdin>,
    input: Input,
    /// How the run ended: `None` while running.
    outcome: Option<Result<(), String>>,
}

impl TcpClient {
    /// A client for `server`; nothing happens until [`start`](Self::start).
    pub fn new(server: SocketAddr) -> TcpClient {
        TcpClient {
            server,
            conn: None,
            stdin: None,
            input: Input::WaitingForConnect,
            outcome: None,
        }
    }

    /// Copies what stdin has to the socket, within the budget and the
    /// queue bound.
    fn pump_stdin(&mut self, io: &mut Io) {
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
                    io.shutdown_write(conn);
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

    fn finish(&mut self, io: &mut Io, outcome: Result<(), String>) {
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
    type Timer = NoTimer;

    fn on_open(&mut self, io: &mut Io, _conn: ConnId) {
        self.input = Input::Copying;
        self.pump_stdin(io);
    }

    fn on_input(&mut self, io: &mut Io, _conn: ConnId, input: &[u8]) -> usize {
        if !print(input) {
            self.finish(io, Ok(()));
        }
        input.len()
    }

    fn on_closed(&mut self, io: &mut Io, _conn: ConnId, reason: &CloseReason) {
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

    fn on_source(&mut self, io: &mut Io, _source: usize, _ready: Readiness) {
        self.pump_stdin(io);
    }

    fn on_wake(&mut self, io: &mut Io) {
        self.pump_stdin(io);
    }

    fn on_drained(&mut self, io: &mut Io, _conn: ConnId) {
        if self.input == Input::Paused {
            self.pump_stdin(io);
        }
    }
}

impl Client for TcpClient {
    /// Starts the connect and opens stdin.
    fn start(&mut self, io: &mut Io, handle: Handle) -> Result<(), Failure> {
        let conn = io
            .connect(self.server)
            .map_err(|e| format!("cannot connect to {}: {e}", self.server))?;
        self.conn = Some(conn);
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
