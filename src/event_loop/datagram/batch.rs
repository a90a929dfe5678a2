//! Many datagrams per system call, and the kernel's count of the ones it
//! dropped.
//!
//! ## One system call per datagram, and one more
//!
//! The simplest UDP server calls `recvfrom` and then `sendto` once per
//! datagram. A server on an edge-triggered loop also pays, for every
//! wake-up, one more `recvfrom` whose only news is `WouldBlock`: the proof
//! that the socket is drained and the next edge will come.
//!
//! Linux has `recvmmsg(2)` and `sendmmsg(2)`: one call receives, or sends,
//! up to [`BATCH`] datagrams, each with its own address. A [`Batch`] is
//! one such set of datagrams. Echo receives a batch and sends it back from
//! the same slots, to the addresses it came from: nothing is copied. And a
//! batch shorter than [`BATCH`] is itself the proof of a drained socket:
//! on a non-blocking socket `recvmmsg` stops at the first datagram that is
//! not there, and one that arrives after that raises a new edge. So
//! [`Batch::drained`] saves the `WouldBlock` call too.
//!
//! Elsewhere (macOS, the BSDs) the same `Batch` is filled and sent one
//! `recv_from` and `send_to` at a time. The choice is made at compile time
//! ([`Native`]); the caller cannot tell the two apart, and the tests below
//! run both on Linux.
//!
//! ## What it saves, measured
//!
//! Only the entry into and exit from the kernel: the work each datagram
//! costs inside it (the UDP and IP layers, the copy, the delivery to the
//! receiving socket and the wake-up of its owner) is the same one at a
//! time or 32 at once. Where a system call's entry and exit are cheap,
//! that is little. On the machine `benches/udp.sh` was run on (Linux 6.18,
//! a virtual machine whose CPUs need no page-table switch per call) an
//! empty system call costs 150 ns and a 64-byte echo round trip costs the
//! server 4 µs of CPU, so the two calls per datagram are under a tenth of
//! it; with 3 to 6 datagrams per call, udp-echo spent the same CPU per
//! round trip as a blocking one-datagram-per-call server, within the
//! noise. Where each call is dearer (kernels that switch page tables on
//! every entry, older CPUs), batching saves that much more; and in a
//! burst, batches are full.
//!
//! ## The kernel's drop counter
//!
//! When the socket's receive buffer is full, the kernel drops what
//! arrives. With `SO_RXQ_OVFL` on (Linux, [`count_kernel_drops`]), each
//! datagram received after the first drop carries, as ancillary data, the
//! number of datagrams the socket has dropped so far. The count only
//! grows, so the newest datagram of a batch carries the newest count, and
//! only that one is read: the cost is one look at one control buffer per
//! batch. A drop after the last datagram read shows up with the next one.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use super::RECV_BUFFER;
use crate::event_loop::UdpSocket;

#[cfg(target_os = "linux")]
pub use super::mmsg::count_kernel_drops;
#[cfg(target_os = "linux")]
use super::mmsg::Mmsg;
#[cfg(any(not(target_os = "linux"), test))]
use super::one_at_a_time::OneAtATime;

/// Datagrams moved per system call.
///
/// 32: the loop's [`RECV_BUDGET`](super::RECV_BUDGET) of 64 datagrams per
/// wake-up is then two calls, and a batch's slots are 32 x 64 KiB = 2 MiB
/// of address space (one datagram of any size fits a slot), of which a
/// small datagram touches one page. Beyond a few dozen the calls saved are
/// a rounding error next to the per-datagram work of the kernel.
pub const BATCH: usize = 32;

/// How datagrams move between a socket and a batch's slots: `recvmmsg`
/// and `sendmmsg` ([`Native`] on Linux), or one call per datagram.
pub trait Carrier: Default {
    /// Receives up to [`BATCH`] datagrams into `slots` (slot `i` is
    /// `slots[i * RECV_BUFFER..][..RECV_BUFFER]`), their lengths into
    /// `lens`. `Err(WouldBlock)` when none is there.
    fn receive(
        &mut self,
        socket: &UdpSocket,
        slots: &mut [u8],
        lens: &mut [usize; BATCH],
    ) -> io::Result<Received>;

    /// Sends datagrams `from..to` back to where each came from; returns
    /// how many left (at least one), or the error of the first.
    fn send_back(
        &mut self,
        socket: &UdpSocket,
        slots: &[u8],
        lens: &[usize; BATCH],
        from: usize,
        to: usize,
    ) -> io::Result<usize>;

    /// Where datagram `i` of the last receive came from.
    fn peer(&self, i: usize) -> Option<SocketAddr>;
}

/// What one receive brought.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Datagrams, at least one.
    pub count: usize,
    /// Whether the socket had nothing more at the end (see
    /// [`Batch::drained`]).
    pub drained: bool,
    /// The kernel's drop count carried by the newest datagram, if it
    /// carried one.
    pub kernel_dropped: Option<u32>,
}

/// The platform's own way: `recvmmsg`/`sendmmsg` on Linux.
#[cfg(target_os = "linux")]
pub type Native = Mmsg;
/// The platform's own way: one datagram per call where there is no
/// `recvmmsg`/`sendmmsg`.
#[cfg(not(target_os = "linux"))]
pub type Native = OneAtATime;

/// Without `SO_RXQ_OVFL` there is no counter to turn on.
#[cfg(not(target_os = "linux"))]
pub fn count_kernel_drops(_socket: &UdpSocket) -> bool {
    false
}

/// Up to [`BATCH`] datagrams received together, each in a slot of its
/// own, with the address it came from.
pub struct Batch<C: Carrier = Native> {
    /// [`BATCH`] slots of [`RECV_BUFFER`] bytes, one datagram each.
    slots: Box<[u8]>,
    /// Bytes of the datagram in each slot.
    lens: [usize; BATCH],
    /// Slots filled by the last receive.
    count: usize,
    /// Whether the last receive left the socket empty.
    drained: bool,
    /// The newest drop count the kernel reported.
    kernel_dropped: Option<u64>,
    carrier: C,
}

impl<C: Carrier> Default for Batch<C> {
    fn default() -> Batch<C> {
        Batch {
            slots: vec![0; BATCH * RECV_BUFFER].into_boxed_slice(),
            lens: [0; BATCH],
            count: 0,
            drained: false,
            kernel_dropped: None,
            carrier: C::default(),
        }
    }
}

impl<C: Carrier> Batch<C> {
    /// An empty batch.
    pub fn new() -> Batch<C> {
        Batch::default()
    }

    /// Receives up to [`BATCH`] datagrams from `socket`, replacing the
    /// last ones; returns how many. `Err(WouldBlock)` when there were none.
    pub fn receive(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        self.count = 0;
        let received = self
            .carrier
            .receive(socket, &mut self.slots, &mut self.lens)?;
        self.count = received.count.min(BATCH);
        self.drained = received.drained;
        if let Some(dropped) = received.kernel_dropped {
            self.kernel_dropped = Some(u64::from(dropped));
        }
        Ok(self.count)
    }

    /// Sends datagrams `from..` of this batch back to their senders;
    /// returns how many left with this call (at least one), or the error
    /// of datagram `from`. Fewer than asked means the next one would
    /// block or failed: calling again says which.
    pub fn send_back(&mut self, socket: &UdpSocket, from: usize) -> io::Result<usize> {
        if from >= self.count {
            return Ok(0);
        }
        self.carrier
            .send_back(socket, &self.slots, &self.lens, from, self.count)
    }

    /// Datagrams in the batch.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when the last receive got nothing.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Datagram `i`'s bytes.
    pub fn payload(&self, i: usize) -> &[u8] {
        if i < self.count {
            &self.slots[i * RECV_BUFFER..][..self.lens[i]]
        } else {
            &[]
        }
    }

    /// Where datagram `i` came from.
    pub fn peer(&self, i: usize) -> Option<SocketAddr> {
        (i < self.count).then(|| self.carrier.peer(i)).flatten()
    }

    /// Bytes of datagrams `from..to`.
    pub fn bytes(&self, from: usize, to: usize) -> usize {
        self.lens[from.min(self.count)..to.min(self.count)]
            .iter()
            .sum()
    }

    /// Whether the last receive left the socket empty. If so, no further
    /// receive is needed until the next readiness event: anything that
    /// arrives later raises one. If not, the socket may hold more.
    pub fn drained(&self) -> bool {
        self.drained
    }

    /// The number of datagrams the kernel dropped on this socket because
    /// its receive buffer was full, as last reported; `None` until the
    /// kernel reported a drop (or where it does not report them).
    pub fn kernel_dropped(&self) -> Option<u64> {
        self.kernel_dropped
    }
}

impl<C: Carrier> fmt::Debug for Batch<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch")
            .field("count", &self.count)
            .field("drained", &self.drained)
            .field("kernel_dropped", &self.kernel_dropped)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn pair() -> io::Result<(UdpSocket, std::net::UdpSocket)> {
        let server = UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let client = std::net::UdpSocket::bind("127.0.0.1:0")?;
        client.connect(server.local_addr()?)?;
        client.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok((server, client))
    }

    /// A datagram as a test saw it: bytes, sender, and whether its
    /// receive drained the socket.
    type Seen = (Vec<u8>, Option<SocketAddr>, bool);

    /// Receives until `want` datagrams are in, bounded by a deadline (the
    /// datagrams are on loopback, so this never waits for long).
    fn receive_all<C: Carrier>(
        batch: &mut Batch<C>,
        socket: &UdpSocket,
        want: usize,
    ) -> io::Result<Vec<Seen>> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut got = Vec::new();
        while got.len() < want && Instant::now() < deadline {
            match batch.receive(socket) {
                Ok(n) => {
                    for i in 0..n {
                        got.push((batch.payload(i).to_vec(), batch.peer(i), batch.drained()));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                Err(e) => return Err(e),
            }
        }
        Ok(got)
    }

    /// 40 datagrams in: a full batch of 32 that may have more behind it,
    /// then 8 that drained the socket; each with its bytes and sender.
    fn forty_in_then_echoed<C: Carrier>() -> io::Result<()> {
        let (server, client) = pair()?;
        for n in 0..40u8 {
            client.send(&vec![n; usize::from(n)])?;
        }
        let mut batch: Batch<C> = Batch::new();
        let got = receive_all(&mut batch, &server, 40)?;
        assert_eq!(got.len(), 40);
        for (n, (payload, peer, _)) in got.iter().enumerate() {
            assert_eq!(payload, &vec![n as u8; n], "datagram {n}");
            assert_eq!(*peer, Some(client.local_addr()?));
        }
        assert!(got.last().is_some_and(|d| d.2), "the last receive drained");
        // The last batch goes back, from its own slots.
        let last = batch.len();
        let mut sent = 0;
        while sent < last {
            sent += batch.send_back(&server, sent)?;
        }
        let mut buf = [0u8; 64];
        for n in (40 - last)..40 {
            let len = client.recv(&mut buf)?;
            assert_eq!(&buf[..len], &vec![n as u8; n][..]);
        }
        assert_eq!(batch.bytes(0, last), (40 - last..40).sum::<usize>());
        Ok(())
    }

    #[test]
    fn the_native_carrier_batches_and_echoes() -> io::Result<()> {
        forty_in_then_echoed::<Native>()
    }

    #[test]
    fn one_datagram_at_a_time_does_the_same() -> io::Result<()> {
        forty_in_then_echoed::<OneAtATime>()
    }

    #[test]
    fn an_empty_socket_would_block_and_an_empty_batch_sends_nothing() -> io::Result<()> {
        let (server, _client) = pair()?;
        let mut batch: Batch = Batch::new();
        let err = batch.receive(&server).err().map(|e| e.kind());
        assert_eq!(err, Some(io::ErrorKind::WouldBlock));
        assert!(batch.is_empty());
        assert_eq!(batch.send_back(&server, 0)?, 0);
        assert_eq!(batch.payload(0), b"");
        assert_eq!(batch.peer(0), None);
        Ok(())
    }

    #[test]
    fn a_full_batch_does_not_claim_the_socket_drained() -> io::Result<()> {
        let (server, client) = pair()?;
        for _ in 0..BATCH {
            client.send(b"x")?;
        }
        let mut batch: Batch = Batch::new();
        let got = receive_all(&mut batch, &server, BATCH)?;
        assert_eq!(got.len(), BATCH);
        if batch.len() == BATCH {
            assert!(!batch.drained(), "32 of 32: there may be more");
        }
        Ok(())
    }
}
