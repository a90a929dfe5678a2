//! `recvmmsg(2)` and `sendmmsg(2)`: a [`Batch`](super::batch::Batch)'s
//! datagrams in one system call each way (Linux), and `SO_RXQ_OVFL`, the
//! kernel's drop counter that comes with them.
//!
//! std has neither call nor ancillary data, so this is the one place in
//! the crate that speaks to `libc` directly. (`nix` wraps both calls, but
//! its reusable headers lose ancillary data from the second call on: the
//! kernel rewrites each header's control length, and nix does not set it
//! back. And counting what its `sendmmsg` sent reads address slots that
//! the call never wrote. Setting every header afresh before each call, as
//! below, is a few lines.)
//!
//! Every `unsafe` block says why it is sound. They share one argument:
//! each header is built, right before the call, from pointers into
//! buffers this struct owns (and the batch's slots, borrowed for the
//! call), with the lengths of those buffers; so the kernel writes only
//! inside them, and nothing moves or is freed while it does.

use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;
use std::ptr;

use super::batch::{Carrier, Received, BATCH};
use super::RECV_BUFFER;
use crate::event_loop::UdpSocket;

/// Room for the one control message asked for: `SO_RXQ_OVFL`'s `u32`.
/// (`CMSG_SPACE(4)` is 24 bytes on 64-bit Linux: a 16-byte header, the
/// value, padding; 32 leaves room on every ABI.) Aligned like the
/// `cmsghdr` the kernel writes at its start.
#[repr(C, align(8))]
#[derive(Clone, Copy)]
struct Control([u8; 32]);

/// The headers of one call, and what the kernel fills in beside the data.
struct Headers {
    msgs: [libc::mmsghdr; BATCH],
    iovs: [libc::iovec; BATCH],
    /// The sender of each datagram, written by `recvmmsg`; the
    /// destination of its reply, read by `sendmmsg`.
    names: [libc::sockaddr_storage; BATCH],
    /// How many bytes of each name the kernel wrote.
    name_lens: [libc::socklen_t; BATCH],
    controls: [Control; BATCH],
}

/// `recvmmsg`/`sendmmsg`, the Linux [`Carrier`].
pub struct Mmsg {
    /// Boxed: 7 KiB that should not move around with the protocol.
    headers: Box<Headers>,
}

impl Default for Mmsg {
    fn default() -> Mmsg {
        // SAFETY: every field of `Headers` is a C struct or array of
        // integers and raw pointers (or bytes), for which all-zero is a
        // valid value: zero lengths, null pointers. Nothing reads a
        // pointer before `receive` or `send_back` sets it.
        let headers: Headers = unsafe { mem::zeroed() };
        Mmsg {
            headers: Box::new(headers),
        }
    }
}

impl Carrier for Mmsg {
    fn receive(
        &mut self,
        socket: &UdpSocket,
        slots: &mut [u8],
        lens: &mut [usize; BATCH],
    ) -> io::Result<Received> {
        let Headers {
            msgs,
            iovs,
            names,
            name_lens,
            controls,
        } = &mut *self.headers;
        let room = (slots.len() / RECV_BUFFER).min(BATCH);
        for (i, slot) in slots.chunks_exact_mut(RECV_BUFFER).take(room).enumerate() {
            iovs[i] = libc::iovec {
                iov_base: slot.as_mut_ptr().cast(),
                iov_len: slot.len(),
            };
            let hdr = &mut msgs[i].msg_hdr;
            // The kernel rewrites the two lengths with what it used:
            // both are set back to the full room before every call.
            hdr.msg_name = ptr::from_mut(&mut names[i]).cast();
            hdr.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            hdr.msg_iov = &mut iovs[i];
            hdr.msg_iovlen = 1;
            hdr.msg_control = controls[i].0.as_mut_ptr().cast();
            hdr.msg_controllen = mem::size_of::<Control>() as _;
            hdr.msg_flags = 0;
        }
        // SAFETY: `msgs[..room]` were all just set: each points at
        // its own iovec (one slot of `slots`, `RECV_BUFFER` bytes, borrowed
        // mutably for this call), its own name and control buffers, each
        // with its true size. The kernel writes within those and into the
        // headers' length fields, all owned by `self` or borrowed here,
        // none moved or freed during the call. Null timeout: none.
        let got = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                msgs.as_mut_ptr(),
                room as libc::c_uint,
                0,
                ptr::null_mut(),
            )
        };
        if got < 0 {
            return Err(io::Error::last_os_error());
        }
        let count = (got as usize).min(room);
        if count == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        for i in 0..count {
            lens[i] = (msgs[i].msg_len as usize).min(RECV_BUFFER);
            name_lens[i] = msgs[i].msg_hdr.msg_namelen;
        }
        Ok(Received {
            count,
            // A non-blocking recvmmsg stops early only at an empty queue.
            drained: count < room,
            kernel_dropped: drop_count(&msgs[count - 1].msg_hdr),
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
        let to = to.min(BATCH).min(slots.len() / RECV_BUFFER);
        if from >= to {
            return Ok(0);
        }
        let Headers {
            msgs,
            iovs,
            names,
            name_lens,
            ..
        } = &mut *self.headers;
        for i in from..to {
            iovs[i] = libc::iovec {
                // sendmmsg only reads through it: the cast to *mut is
                // what the C struct spells, not a licence to write.
                iov_base: slots[i * RECV_BUFFER..].as_ptr().cast_mut().cast(),
                iov_len: lens[i].min(RECV_BUFFER),
            };
            let hdr = &mut msgs[i].msg_hdr;
            hdr.msg_name = ptr::from_mut(&mut names[i]).cast();
            hdr.msg_namelen = name_lens[i];
            hdr.msg_iov = &mut iovs[i];
            hdr.msg_iovlen = 1;
            // No ancillary data goes out.
            hdr.msg_control = ptr::null_mut();
            hdr.msg_controllen = 0;
            hdr.msg_flags = 0;
        }
        // SAFETY: `msgs[from..to]` were all just set, each pointing at a
        // slot of `slots` (borrowed for this call) with a length within
        // it, and at its own name with the length the kernel gave it on
        // receive. The kernel reads those and writes only each header's
        // `msg_len`, owned by `self`.
        let sent = unsafe {
            libc::sendmmsg(
                socket.as_raw_fd(),
                msgs[from..].as_mut_ptr(),
                (to - from) as libc::c_uint,
                0,
            )
        };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((sent as usize).min(to - from))
    }

    fn peer(&self, i: usize) -> Option<SocketAddr> {
        let h = &self.headers;
        (i < BATCH).then(|| socket_addr(&h.names[i], h.name_lens[i]))?
    }
}

/// The drop count in a received datagram's ancillary data, if the kernel
/// put one there (it does once the socket has dropped anything).
fn drop_count(hdr: &libc::msghdr) -> Option<u32> {
    // SAFETY: `hdr` was filled by recvmmsg: `msg_control` points at this
    // datagram's own control buffer and `msg_controllen` is what the
    // kernel wrote into it, so CMSG_FIRSTHDR/CMSG_NXTHDR (which check
    // every step against that length) stay inside it. The value is read
    // unaligned, as cmsg(3) says it must be.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(hdr);
        while !cmsg.is_null() {
            let c = &*cmsg;
            if c.cmsg_level == libc::SOL_SOCKET
                && c.cmsg_type == libc::SO_RXQ_OVFL
                && c.cmsg_len as usize >= libc::CMSG_LEN(4) as usize
            {
                return Some(ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<u32>()));
            }
            cmsg = libc::CMSG_NXTHDR(hdr, cmsg);
        }
    }
    None
}

/// The address the kernel wrote into `name`.
fn socket_addr(name: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<SocketAddr> {
    let len = len as usize;
    match libc::c_int::from(name.ss_family) {
        libc::AF_INET if len >= mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: `sockaddr_storage` is sized and aligned to hold any
            // socket address (that is its purpose), and its family says
            // the kernel wrote a `sockaddr_in` here.
            let sin = unsafe { &*ptr::from_ref(name).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            Some(SocketAddrV4::new(ip, u16::from_be(sin.sin_port)).into())
        }
        libc::AF_INET6 if len >= mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: as above, for a `sockaddr_in6`.
            let sin6 = unsafe { &*ptr::from_ref(name).cast::<libc::sockaddr_in6>() };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            let port = u16::from_be(sin6.sin6_port);
            Some(SocketAddrV6::new(ip, port, sin6.sin6_flowinfo, sin6.sin6_scope_id).into())
        }
        _ => None,
    }
}

/// Turns on `SO_RXQ_OVFL`: from the socket's first drop on, each datagram
/// it delivers carries the count of datagrams dropped so far. Returns
/// whether the kernel accepted it (Linux has since 2.6.33).
pub fn count_kernel_drops(socket: &UdpSocket) -> bool {
    let on: libc::c_int = 1;
    // SAFETY: the option value is a live `c_int` and the length passed is
    // its size; the kernel only reads it.
    let set = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RXQ_OVFL,
            ptr::from_ref(&on).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    set == 0
}
