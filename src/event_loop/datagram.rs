//! What every UDP socket on the loop shares (the echo server's, the load
//! generator's, the client's): the size limits of a datagram, the receive
//! budget, the kernel buffers a socket asks for, the kernel's drop
//! counter, and an ephemeral local address to send from.
//!
//! ## Why the kernel buffers matter
//!
//! A UDP socket has no flow control. Datagrams that arrive while the
//! server is busy wait in the socket's kernel receive buffer, and when
//! that is full the kernel drops them, silently, counting them in the
//! `RcvbufErrors` line of `/proc/net/snmp`. The buffer is charged each
//! datagram's whole kernel allocation, not its payload: on Linux over
//! loopback a 64-byte datagram costs 832 bytes and a 1,400-byte one
//! 2,304. The default buffer (212,992 bytes on Linux) therefore holds
//! about 90 datagrams of 1,400 bytes; four clients with 128 such
//! datagrams in flight each overflow it. [`DEFAULT_SOCKET_BUFFER`] asks
//! for 4 MiB instead; see [`size_buffers`] for what the kernel makes of
//! that request.
//!
//! * [`batch`]: many datagrams per system call (`recvmmsg`/`sendmmsg`
//!   on Linux), and the drop counter that comes with them.

pub mod batch;
#[cfg(target_os = "linux")]
mod mmsg;
#[cfg(any(not(target_os = "linux"), test))]
mod one_at_a_time;

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::source::UdpSocket;

/// The largest UDP payload over IPv4: 65535 minus the 8-byte UDP header
/// and the 20-byte IP header. (IPv6 allows 65527.)
pub const MAX_DATAGRAM: usize = 65_507;

/// A receive buffer larger than any UDP payload over IPv4 or IPv6, so a
/// datagram is never cut short.
pub const RECV_BUFFER: usize = 65_536;

/// Datagrams received per readiness event before the loop moves on: a
/// flood on one socket must not starve the waker (signals) or the other
/// sources. What is left is read on the next turn (`Io::revisit_source`).
pub const RECV_BUDGET: usize = 64;

/// The kernel receive and send buffer a UDP socket asks for unless told
/// otherwise: 4 MiB each.
///
/// At the costs measured above that holds about 1,800 datagrams of 1,400
/// bytes, or 5,000 small ones; Linux doubles what is asked, so twice that
/// in practice. At the rate the loop drains its socket (a few
/// microseconds a datagram) that is tens of milliseconds of a burst
/// absorbed, more than a scheduling hiccup lasts. It costs nothing while
/// the socket keeps up: the size bounds what may wait, memory is taken
/// only by datagrams that do. Larger would only hide a server that cannot
/// keep up at all, which no buffer cures. Linux caps the request at
/// `net.core.rmem_max` (`wmem_max` for sending): 4 MiB is a value an
/// administrator can allow with one `sysctl`, and the log says when the
/// cap applied.
pub const DEFAULT_SOCKET_BUFFER: usize = 4 * 1024 * 1024;

/// The kernel buffers to ask a socket for, in bytes; 0 keeps the kernel's
/// default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferSizes {
    /// `SO_RCVBUF`: datagrams waiting to be read.
    pub recv: usize,
    /// `SO_SNDBUF`: datagrams waiting to leave.
    pub send: usize,
}

impl Default for BufferSizes {
    fn default() -> BufferSizes {
        BufferSizes {
            recv: DEFAULT_SOCKET_BUFFER,
            send: DEFAULT_SOCKET_BUFFER,
        }
    }
}

/// Which of a socket's two buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `SO_RCVBUF`.
    Receive,
    /// `SO_SNDBUF`.
    Send,
}

impl Direction {
    /// The Linux setting that caps requests for this buffer.
    fn cap_setting(self) -> &'static str {
        match self {
            Direction::Receive => "net.core.rmem_max",
            Direction::Send => "net.core.wmem_max",
        }
    }
}

/// What the kernel made of a request for one buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granted {
    /// Which buffer.
    pub direction: Direction,
    /// Bytes asked for (0: nothing was asked, the default was kept).
    pub asked: usize,
    /// Bytes the kernel reports the buffer to be now.
    pub granted: usize,
}

/// How much more than asked a kernel grants when it grants in full.
/// Linux doubles a `SO_RCVBUF`/`SO_SNDBUF` request, keeping half of it for
/// its own bookkeeping (socket(7)), and reports the doubled value; the
/// BSDs and macOS grant the value as asked (or refuse it).
const FULL_GRANT: usize = if cfg!(any(target_os = "linux", target_os = "android")) {
    2
} else {
    1
};

impl Granted {
    /// True when the kernel gave less than asked: it capped the request.
    pub fn capped(&self) -> bool {
        self.asked > 0 && self.granted < self.asked.saturating_mul(FULL_GRANT)
    }
}

impl fmt::Display for Granted {
    /// `8388608 bytes (asked 4194304)`, and what capped it and how to
    /// raise the cap when it was capped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.asked == 0 {
            return write!(f, "{} bytes (the kernel's default)", self.granted);
        }
        write!(f, "{} bytes (asked {})", self.granted, self.asked)?;
        if self.capped() {
            let setting = self.direction.cap_setting();
            if FULL_GRANT == 2 {
                // Linux: granted = 2 x min(asked, cap).
                write!(
                    f,
                    ", capped by {setting}={}; raise it with `sysctl -w {setting}={}`",
                    self.granted / 2,
                    self.asked
                )?;
            } else {
                write!(
                    f,
                    ", capped by the kernel; raise its cap (kern.ipc.maxsockbuf on the BSDs and macOS)"
                )?;
            }
        }
        Ok(())
    }
}

/// What a socket's two buffers are after [`size_buffers`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketBuffers {
    /// The receive buffer.
    pub recv: Granted,
    /// The send buffer.
    pub send: Granted,
}

impl fmt::Display for SocketBuffers {
    /// `receive buffer 8388608 bytes (asked 4194304), send buffer ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "receive buffer {}, send buffer {}", self.recv, self.send)
    }
}

/// Asks the kernel for `sizes` (a size of 0 is not asked for), and reads
/// back what it granted.
///
/// Through `socket2`, because std does not expose `SO_RCVBUF` and
/// `SO_SNDBUF`. A request the kernel refuses outright (the BSDs and macOS
/// answer `ENOBUFS` above their cap, where Linux caps silently) is not an
/// error: the socket keeps the buffer it had, and the result shows it as
/// capped.
pub fn size_buffers(socket: &UdpSocket, sizes: BufferSizes) -> io::Result<SocketBuffers> {
    let sock = socket2::SockRef::from(socket);
    if sizes.recv > 0 {
        let _ = sock.set_recv_buffer_size(sizes.recv);
    }
    if sizes.send > 0 {
        let _ = sock.set_send_buffer_size(sizes.send);
    }
    Ok(SocketBuffers {
        recv: Granted {
            direction: Direction::Receive,
            asked: sizes.recv,
            granted: sock.recv_buffer_size()?,
        },
        send: Granted {
            direction: Direction::Send,
            asked: sizes.send,
            granted: sock.send_buffer_size()?,
        },
    })
}

/// A socket on an ephemeral port of the unspecified address of `peer`'s
/// family (`0.0.0.0` or `::`: any local address), from which to talk to
/// `peer`, with buffers of `sizes`.
pub fn bind_for(peer: SocketAddr, sizes: BufferSizes) -> io::Result<(UdpSocket, SocketBuffers)> {
    let any: IpAddr = match peer {
        SocketAddr::V4(_) => Ipv4Addr::new(0, 0, 0, 0).into(),
        SocketAddr::V6(_) => Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0).into(),
    };
    let socket = UdpSocket::bind(SocketAddr::new(any, 0))?;
    let buffers = size_buffers(&socket, sizes)?;
    Ok((socket, buffers))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receive(asked: usize, granted: usize) -> Granted {
        Granted {
            direction: Direction::Receive,
            asked,
            granted,
        }
    }

    #[test]
    fn a_grant_below_what_the_kernel_grants_in_full_is_capped() {
        let full = 4096 * FULL_GRANT;
        assert!(!receive(4096, full).capped());
        assert!(!receive(4096, full + 1).capped(), "a kernel minimum");
        assert!(receive(4096, full - 1).capped());
        assert!(!receive(0, 212_992).capped(), "nothing asked");
    }

    #[test]
    fn a_capped_grant_says_how_to_raise_the_cap() {
        let capped = receive(4_194_304, 425_984).to_string();
        assert!(capped.starts_with("425984 bytes (asked 4194304), capped by "));
        if FULL_GRANT == 2 {
            assert!(
                capped.contains(
                    "net.core.rmem_max=212992; raise it with `sysctl -w net.core.rmem_max=4194304`"
                ),
                "{capped}"
            );
        }
        let full = receive(4_194_304, 4_194_304 * FULL_GRANT).to_string();
        assert!(!full.contains("capped"), "{full}");
    }

    #[test]
    fn buffers_asked_of_a_real_socket_are_read_back() -> io::Result<()> {
        let socket = UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let small = size_buffers(
            &socket,
            BufferSizes {
                recv: 64 * 1024,
                send: 0,
            },
        )?;
        assert!(small.recv.granted >= 64 * 1024 || small.recv.capped());
        assert_eq!(small.send.asked, 0);
        let larger = size_buffers(
            &socket,
            BufferSizes {
                recv: 128 * 1024,
                send: 0,
            },
        )?;
        assert!(
            larger.recv.granted > small.recv.granted || larger.recv.capped(),
            "{small} then {larger}"
        );
        Ok(())
    }
}
