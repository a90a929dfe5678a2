//! UDP echo: every datagram is sent back to its sender, unchanged.
//!
//! UDP turns the TCP picture around. There are no connections to accept and
//! no byte stream to frame: one socket, and each datagram is one whole
//! message with the address to answer. So this protocol owns its socket as
//! a *source* of its own (token [`source_token`](crate::event_loop::source_token)`(0)`) and never sees
//! [`Protocol::on_input`].
//!
//! What stays the same is the discipline of the loop:
//!
//! * **drain with a budget**: read until the socket is empty, but at most
//!   [`RECV_BUDGET`](datagram::RECV_BUDGET) datagrams per event, then ask to be revisited next turn
//!   ([`Io::revisit_source`]) so the waker (signals) is not starved by a
//!   flood;
//! * **never block**: when sending would block, the reply waits in a
//!   bounded [`ReplyQueue`] and `WRITABLE` interest is on only while the queue
//!   is non-empty. A reply that does not fit is dropped and counted; UDP
//!   promises no delivery, and a server that blocked here would stall every
//!   other sender.
//!
//! What is UDP's own:
//!
//! * **a batch per system call**: datagrams come in a [`Batch`] of up to
//!   32 per `recvmmsg` and go back with one `sendmmsg`, from the slots they
//!   arrived in (Linux; one call per datagram elsewhere). A short batch
//!   proves the socket drained, so no call is spent on `WouldBlock`.
//! * **buffers for bursts**: the socket asks the kernel for large buffers
//!   ([`BufferSizes`], `--recv-buffer`, `--send-buffer`) and logs what it
//!   got; datagrams the kernel still drops are counted where it reports
//!   them (`kernel_dropped=` in the stats line).

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;

use log::{debug, info, warn};

use crate::event_loop::datagram::batch::{self, Batch};
use crate::event_loop::datagram::{self, BufferSizes};
use crate::event_loop::{Handle, Io, NoTimer, Protocol, Readiness, SourceInterest, UdpSocket};

/// Replies waiting for the socket to become writable, bounded in bytes.
#[derive(Debug)]
pub struct ReplyQueue {
    replies: VecDeque<(SocketAddr, Vec<u8>)>,
    queued_bytes: usize,
    limit_bytes: usize,
}

impl ReplyQueue {
    /// A queue that holds at most `limit_bytes` of payload.
    pub fn new(limit_bytes: usize) -> ReplyQueue {
        ReplyQueue {
            replies: VecDeque::new(),
            queued_bytes: 0,
            limit_bytes,
        }
    }

    /// Queues a copy of a reply; returns false (and queues nothing) when it
    /// does not fit.
    pub fn push(&mut self, to: SocketAddr, payload: &[u8]) -> bool {
        if self.queued_bytes + payload.len() > self.limit_bytes {
            return false;
        }
        self.queued_bytes += payload.len();
        self.replies.push_back((to, payload.to_vec()));
        true
    }

    /// The oldest reply, if any.
    pub fn front(&self) -> Option<&(SocketAddr, Vec<u8>)> {
        self.replies.front()
    }

    /// Drops the oldest reply (it was sent).
    pub fn pop(&mut self) {
        if let Some((_, payload)) = self.replies.pop_front() {
            self.queued_bytes -= payload.len();
        }
    }

    /// True when no reply waits.
    pub fn is_empty(&self) -> bool {
        self.replies.is_empty()
    }

    /// Replies waiting.
    pub fn len(&self) -> usize {
        self.replies.len()
    }
}

/// The UDP echo protocol: one socket, a reply queue, a batch of datagrams.
#[derive(Debug)]
pub struct UdpEcho {
    socket: UdpSocket,
    pending: ReplyQueue,
    /// The datagrams of the last receive, for the whole server.
    batch: Batch,
    /// Whether the kernel reports its drops on this socket.
    drops_counted: bool,
    /// Its registration: writable only while replies wait. `None` until
    /// [`register`](UdpEcho::register).
    interest: Option<SourceInterest>,
}

/// The source number the socket is registered under.
const SOCKET: usize = 0;

impl UdpEcho {
    /// Binds the socket, asks for kernel buffers of `buffers` (and logs
    /// what was granted), and turns on the kernel's drop counter where
    /// there is one. `queue_limit` bounds the replies kept while the
    /// socket would block (the server's `--max-outbuf`).
    pub fn bind(addr: SocketAddr, queue_limit: usize, buffers: BufferSizes) -> io::Result<UdpEcho> {
        UdpEcho::on_socket(UdpSocket::bind(addr)?, queue_limit, buffers)
    }

    /// The same, on a socket bound elsewhere (one of several sharing a
    /// port with `SO_REUSEPORT`, one per worker).
    pub fn on_socket(
        socket: UdpSocket,
        queue_limit: usize,
        buffers: BufferSizes,
    ) -> io::Result<UdpEcho> {
        let granted = datagram::size_buffers(&socket, buffers)?;
        info!("udp socket {granted}");
        let drops_counted = batch::count_kernel_drops(&socket);
        if !drops_counted {
            debug!("this platform does not report the datagrams its kernel drops");
        }
        Ok(UdpEcho {
            socket,
            pending: ReplyQueue::new(queue_limit),
            batch: Batch::new(),
            drops_counted,
            interest: None,
        })
    }

    /// The address the socket got (the real port for port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Registers the socket with the loop, and starts the kernel drop
    /// count at 0 where the kernel reports one.
    pub fn register(&mut self, io: &mut Io) -> io::Result<()> {
        self.interest = Some(SourceInterest::register(io, &mut self.socket, SOCKET)?);
        if self.drops_counted {
            io.stats_mut().kernel_dropped = Some(0);
        }
        Ok(())
    }

    /// Receives and answers datagrams, a batch at a time, until the
    /// socket is drained or [`RECV_BUDGET`](datagram::RECV_BUDGET) is spent.
    fn receive(&mut self, io: &mut Io) {
        let mut received = 0;
        while received < datagram::RECV_BUDGET {
            let n = match self.batch.receive(&self.socket) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // An ICMP error for an earlier reply (the sender went
                    // away) surfaces here on some systems; it concerns
                    // one peer only. Counted against the budget, so an
                    // error that repeats cannot hold the loop.
                    debug!("udp receive: {e}");
                    received += 1;
                    continue;
                }
            };
            received += n;
            let stats = io.stats_mut();
            stats.datagrams_in += n as u64;
            stats.bytes_in += self.batch.bytes(0, n) as u64;
            if let Some(dropped) = self.batch.kernel_dropped() {
                stats.kernel_dropped = Some(dropped);
            }
            self.reply_to_batch(io);
            if self.batch.drained() {
                return;
            }
        }
        io.revisit_source(SOCKET);
    }

    /// Sends the batch back, as much of it as the socket takes now; the
    /// rest waits in the queue behind any replies already there.
    fn reply_to_batch(&mut self, io: &mut Io) {
        let count = self.batch.len();
        let mut next = 0;
        while next < count && self.pending.is_empty() {
            match self.batch.send_back(&self.socket, next) {
                Ok(sent) => {
                    let stats = io.stats_mut();
                    stats.datagrams_out += sent as u64;
                    stats.bytes_out += self.batch.bytes(next, next + sent) as u64;
                    next += sent;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // This one reply failed (its sender is unreachable,
                    // say); the others go on.
                    debug!("udp send to {:?}: {e}", self.batch.peer(next));
                    next += 1;
                }
            }
        }
        for i in next..count {
            self.queue_reply(io, i);
        }
    }

    /// Keeps a copy of datagram `i` of the batch for when the socket is
    /// writable, or drops and counts it when the queue is full.
    fn queue_reply(&mut self, io: &mut Io, i: usize) {
        let Some(peer) = self.batch.peer(i) else {
            return;
        };
        if !self.pending.push(peer, self.batch.payload(i)) {
            let stats = io.stats_mut();
            stats.dropped += 1;
            if stats.dropped.is_power_of_two() {
                warn!(
                    "udp reply queue full: {} replies dropped so far",
                    stats.dropped
                );
            }
        }
        self.watch_writable(io, true);
    }

    /// Sends queued replies until the queue is empty or the socket blocks.
    fn send_pending(&mut self, io: &mut Io) {
        while let Some((to, payload)) = self.pending.front() {
            match self.socket.send_to(payload, *to) {
                Ok(sent) => {
                    let stats = io.stats_mut();
                    stats.datagrams_out += 1;
                    stats.bytes_out += sent as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => debug!("udp send_to {to}: {e}"),
            }
            self.pending.pop();
        }
        self.watch_writable(io, false);
    }

    /// `WRITABLE` interest on only while replies wait.
    fn watch_writable(&mut self, io: &mut Io, want: bool) {
        if let Some(interest) = self.interest.as_mut() {
            if let Err(e) = interest.want_writable(io, &mut self.socket, want) {
                warn!("udp socket reregister: {e}");
            }
        }
    }
}

impl Protocol for UdpEcho {
    type Timer = NoTimer;

    /// A worker's loop registers its socket here, on its own thread.
    fn on_start(&mut self, io: &mut Io, _handle: Handle) {
        if self.interest.is_none() {
            if let Err(e) = self.register(io) {
                warn!("cannot watch the udp socket: {e}");
                io.stop();
            }
        }
    }

    fn on_source(&mut self, io: &mut Io, _source: usize, ready: Readiness) {
        if ready.writable {
            self.send_pending(io);
        }
        if ready.readable {
            self.receive(io);
        }
    }

    fn on_shutdown(&mut self, io: &mut Io) {
        // One last try for queued replies; what still would block is lost,
        // as UDP allows.
        self.send_pending(io);
        if !self.pending.is_empty() {
            debug!(
                "udp: {} queued replies not sent at shutdown",
                self.pending.len()
            );
        }
        if let Some(interest) = &self.interest {
            interest.deregister(io, &mut self.socket);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 9))
    }

    #[test]
    fn the_reply_queue_is_bounded_in_bytes_and_keeps_order() {
        let mut queue = ReplyQueue::new(10);
        assert!(queue.push(addr(), b"12345"));
        assert!(queue.push(addr(), b"6789"));
        assert!(!queue.push(addr(), b"ab"), "11 bytes would pass the bound");
        assert!(queue.push(addr(), b"a"));
        assert_eq!(queue.len(), 3);
        assert_eq!(queue.front().map(|r| r.1.as_slice()), Some(&b"12345"[..]));
        queue.pop();
        assert!(queue.push(addr(), b"bcde"), "room again after a send");
        let mut order = Vec::new();
        while let Some((_, payload)) = queue.front() {
            order.push(payload.clone());
            queue.pop();
        }
        assert_eq!(
            order,
            vec![b"6789".to_vec(), b"a".to_vec(), b"bcde".to_vec()]
        );
        assert!(queue.is_empty());
    }

    #[test]
    fn an_empty_datagram_always_fits_a_full_queue() {
        let mut queue = ReplyQueue::new(0);
        assert!(queue.push(addr(), b""));
        assert!(!queue.push(addr(), b"x"));
    }
}
