//! What every UDP socket on the loop shares: the size limits of a
//! datagram, the receive buffer and budget, and an ephemeral local
//! address to send from.

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

/// A socket on an ephemeral port of the unspecified address of `peer`'s
/// family, from which to talk to `peer`.
pub fn bind_for(peer: SocketAddr) -> io::Result<UdpSocket> {
    let any: IpAddr = match peer {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    UdpSocket::bind(SocketAddr::new(any, 0))
}
