//! The [`Carrier`] for platforms without `recvmmsg`/`sendmmsg`: a batch
//! filled by one `recv_from` per datagram until the socket would block,
//! and sent back by one `send_to` per datagram. Compiled on Linux only for
//! the tests, which run both carriers.

use std::io;
use std::net::SocketAddr;

use super::batch::{Carrier, Received, BATCH};
use super::RECV_BUFFER;
use crate::event_loop::UdpSocket;

/// One system call per datagram.
#[derive(Debug)]
pub struct OneAtATime {
    /// Where each datagram of the last receive came from.
    peers: [Option<SocketAddr>; BATCH],
}

impl Default for OneAtATime {
    fn default() -> OneAtATime {
        OneAtATime {
            peers: [None; BATCH],
        }
    }
}

impl Carrier for OneAtATime {
    fn receive(
        &mut self,
        socket: &UdpSocket,
        slots: &mut [u8],
        lens: &mut [usize; BATCH],
    ) -> io::Result<Received> {
        let mut count = 0;
        let mut drained = false;
        for slot in slots.chunks_exact_mut(RECV_BUFFER).take(BATCH) {
            match socket.recv_from(slot) {
                Ok((len, from)) => {
                    lens[count] = len;
                    self.peers[count] = Some(from);
                    count += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    drained = true;
                    break;
                }
                // The error was this call's; the datagrams before it are
                // delivered, and the caller asks again for the rest.
                Err(e) if count > 0 => {
                    log::debug!("udp recv_from: {e}");
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        if count == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(Received {
            count,
            drained,
            kernel_dropped: None,
        })
    }

    fn send_back(
        &mut self,
        socket: &UdpSocket,
        slots: &[u8],
        lens: &[usize; BATCH],
        from: usize,
        to: usize,
    ) -> io::Result<usize> {
        let mut sent = 0;
        for i in from..to.min(BATCH) {
            let payload = &slots[i * RECV_BUFFER..][..lens[i]];
            let result = match self.peers[i] {
                Some(peer) => socket.send_to(payload, peer),
                None => Err(io::ErrorKind::AddrNotAvailable.into()),
            };
            match result {
                Ok(_) => sent += 1,
                Err(_) if sent > 0 => break,
                Err(e) => return Err(e),
            }
        }
        Ok(sent)
    }

    fn peer(&self, i: usize) -> Option<SocketAddr> {
        self.peers.get(i).copied().flatten()
    }
}
