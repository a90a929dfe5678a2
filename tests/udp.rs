//! `reactor udp-echo`, black-box over loopback (`docs/reference.md`).

mod common;

use std::net::UdpSocket;

use common::*;

fn socket_for(server: &Server) -> UdpSocket {
    let local = if server.addr.is_ipv4() {
        "127.0.0.1:0"
    } else {
        "[::1]:0"
    };
    let socket = UdpSocket::bind(local).expect("bind");
    socket.set_read_timeout(Some(PATIENCE)).expect("timeout");
    socket.connect(server.addr).expect("connect");
    socket
}

#[test]
fn readiness_line_says_udp() {
    let server = Server::start(&["udp-echo"]);
    assert!(server
        .ready_line
        .starts_with("listening on udp://127.0.0.1:"));
}

#[test]
fn small_medium_and_largest_datagrams_come_back_exactly() {
    let server = Server::start(&["udp-echo"]);
    let socket = socket_for(&server);
    let mut buf = vec![0; 70_000];
    for (seed, size) in [(1, 1), (2, 1000), (3, 65_507), (4, 0)] {
        let payload = random_bytes(seed, size);
        socket.send(&payload).expect("send");
        let n = socket.recv(&mut buf).expect("reply");
        assert_eq!(n, size);
        assert!(buf[..n] == payload[..], "{size}-byte datagram differs");
    }
}

#[test]
fn many_sockets_each_get_only_their_own_replies() {
    let server = Server::start(&["udp-echo"]);
    const SOCKETS: u32 = 4;
    const DATAGRAMS: u32 = 2000;
    // A window of datagrams in flight per socket keeps the load real
    // without overflowing loopback's receive buffers.
    const WINDOW: u32 = 32;
    let workers: Vec<_> = (0..SOCKETS)
        .map(|id| {
            let socket = socket_for(&server);
            std::thread::spawn(move || {
                let mut buf = [0u8; 64];
                let mut next = 0;
                for _ in 0..DATAGRAMS / WINDOW {
                    for seq in next..next + WINDOW {
                        let mut payload = [0u8; 40];
                        payload[..4].copy_from_slice(&id.to_be_bytes());
                        payload[4..8].copy_from_slice(&seq.to_be_bytes());
                        socket.send(&payload).expect("send");
                    }
                    for _ in 0..WINDOW {
                        let n = socket.recv(&mut buf).expect("reply");
                        assert_eq!(n, 40);
                        let from = u32::from_be_bytes(buf[..4].try_into().unwrap());
                        assert_eq!(from, id, "socket {id} got socket {from}'s reply");
                        let seq = u32::from_be_bytes(buf[4..8].try_into().unwrap());
                        assert!((next..next + WINDOW).contains(&seq), "stray seq {seq}");
                    }
                    next += WINDOW;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("socket worker");
    }
}

#[test]
fn ipv6_datagrams_over_65507_bytes_are_not_cut_short() {
    if UdpSocket::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here; skipping");
        return;
    }
    let server = Server::start(&["udp-echo", "--bind", "[::1]:0"]);
    let socket = socket_for(&server);
    let payload = random_bytes(9, 65_527);
    socket.send(&payload).expect("send");
    let mut buf = vec![0; 70_000];
    let n = socket.recv(&mut buf).expect("reply");
    assert_eq!(n, payload.len());
    assert!(buf[..n] == payload[..]);
}

#[test]
fn ipv6_works_too() {
    if UdpSocket::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here; skipping");
        return;
    }
    let server = Server::start(&["udp-echo", "--bind", "[::1]:0"]);
    assert!(server.ready_line.starts_with("listening on udp://[::1]:"));
    let socket = socket_for(&server);
    socket.send(b"six").expect("send");
    let mut buf = [0u8; 16];
    let n = socket.recv(&mut buf).expect("reply");
    assert_eq!(&buf[..n], b"six");
}

#[test]
fn sigterm_exits_zero_with_a_summary_counting_datagrams() {
    let mut server = Server::start(&["udp-echo", "-v"]);
    let socket = socket_for(&server);
    let mut buf = [0u8; 16];
    for _ in 0..3 {
        socket.send(b"ping").expect("send");
        socket.recv(&mut buf).expect("reply");
    }
    server.signal("TERM");
    server.wait_for_log("shutting down");
    let (status, log) = server.wait_exit();
    assert_eq!(status.code(), Some(0));
    let summary = log
        .iter()
        .find(|l| l.contains("stopped after"))
        .expect("summary");
    assert!(summary.contains("datagrams_in=3"), "{summary}");
    assert!(summary.contains("dropped=0"), "{summary}");
}

/// The bytes the receive buffer line says were granted and asked, from
/// `udp socket receive buffer 8388608 bytes (asked 4194304), ...`.
fn receive_buffer(line: &str) -> (usize, Option<usize>) {
    let rest = line
        .split("receive buffer ")
        .nth(1)
        .and_then(|rest| rest.split(", send buffer").next())
        .unwrap_or_else(|| panic!("no receive buffer in {line:?}"));
    let number = |s: &str| {
        s.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
    };
    let granted = number(rest).parse().expect("granted bytes");
    let asked = rest
        .split_once("(asked ")
        .and_then(|(_, after)| number(after).parse().ok());
    (granted, asked)
}

#[test]
fn the_granted_socket_buffers_are_logged() {
    let mut server = Server::start(&["udp-echo"]);
    let line = server.wait_for_log("udp socket receive buffer");
    let (granted, asked) = receive_buffer(&line);
    assert_eq!(asked, Some(4 * 1024 * 1024), "{line}");
    // Linux grants twice what is asked, unless net.core.rmem_max caps
    // it, which the line must then say.
    assert!(
        granted >= 4 * 1024 * 1024 || line.contains("capped by"),
        "{line}"
    );
    assert!(line.contains(", send buffer "), "{line}");
}

#[test]
fn recv_buffer_changes_what_is_granted() {
    let granted_for = |args: &[&str]| {
        let mut server = Server::start(args);
        let line = server.wait_for_log("udp socket receive buffer");
        (receive_buffer(&line), line)
    };
    let ((small, asked), line) = granted_for(&["udp-echo", "--recv-buffer", "65536"]);
    assert_eq!(asked, Some(65536), "{line}");
    assert!(small >= 65536 || line.contains("capped by"), "{line}");
    let ((large, _), line) = granted_for(&["udp-echo", "--recv-buffer", "1048576"]);
    assert!(large > small || line.contains("capped by"), "{line}");
    let ((_, asked), line) = granted_for(&["udp-echo", "--recv-buffer", "0"]);
    assert_eq!(asked, None, "{line}");
    assert!(line.contains("(the kernel's default)"), "{line}");
}

/// What one datagram of `size` bytes costs a receive buffer on Linux over
/// loopback (the kernel charges its whole allocation, measured).
const CHARGE_1400: usize = 2304;

/// A socket whose receive buffer holds `datagrams` replies of 1,400
/// bytes, or `None` when the kernel caps it below that.
fn socket_holding(server: &Server, datagrams: usize) -> Option<UdpSocket> {
    let socket = socket_for(server);
    let want = datagrams * CHARGE_1400;
    let sock = socket2::SockRef::from(&socket);
    sock.set_recv_buffer_size(want).expect("SO_RCVBUF");
    (sock.recv_buffer_size().expect("SO_RCVBUF") >= want).then_some(socket)
}

#[test]
fn a_burst_of_2000_large_datagrams_is_echoed_whole() {
    const SOCKETS: usize = 4;
    const BURST: usize = 2000;
    const SIZE: usize = 1400;
    let mut server = Server::start(&["udp-echo", "-v"]);
    let line = server.wait_for_log("udp socket receive buffer");
    let (granted, _) = receive_buffer(&line);
    // The burst must fit the server's buffer whole: the server may not
    // run at all while it arrives. A kernel that caps every buffer below
    // that (net.core.rmem_max) cannot show what this test is about; one
    // that lets this test's own socket have it must have let the server.
    let sockets: Option<Vec<UdpSocket>> = (0..SOCKETS)
        .map(|_| socket_holding(&server, BURST / SOCKETS))
        .collect();
    let (Some(sockets), Some(_)) = (sockets, socket_holding(&server, BURST)) else {
        eprintln!("skipped: this kernel caps socket buffers below a burst of {BURST}");
        return;
    };
    assert!(
        granted >= BURST * CHARGE_1400,
        "the server's receive buffer does not hold a burst of {BURST}: {line}"
    );
    // As fast as the sockets take them, before reading any reply.
    for n in 0..BURST {
        let payload = random_bytes(n as u64, SIZE);
        assert_eq!(sockets[n % SOCKETS].send(&payload).expect("send"), SIZE);
    }
    let mut buf = vec![0; 2048];
    for (i, socket) in sockets.iter().enumerate() {
        for k in 0..BURST / SOCKETS {
            // A missing reply fails here, after PATIENCE at most.
            let n = socket
                .recv(&mut buf)
                .unwrap_or_else(|e| panic!("socket {i}: reply {k} of {}: {e}", BURST / SOCKETS));
            assert_eq!(n, SIZE);
        }
    }
    server.signal("TERM");
    let (_, log) = server.wait_exit();
    let summary = log
        .iter()
        .find(|l| l.contains("stopped after"))
        .expect("summary");
    assert!(
        summary.contains(&format!("datagrams_in={BURST} ")),
        "{summary}"
    );
    assert!(summary.contains("dropped=0"), "{summary}");
    if cfg!(target_os = "linux") {
        assert!(summary.contains("kernel_dropped=0"), "{summary}");
    }
}

#[test]
fn datagrams_the_kernel_drops_are_counted() {
    const BURST: u64 = 2000;
    // The smallest buffer the kernel allows holds two or three of these.
    let server = Server::start(&["udp-echo", "--recv-buffer", "1"]);
    let blaster = socket_for(&server);
    let payload = random_bytes(7, 1400);
    let mut sent = 0;
    for _ in 0..BURST {
        if blaster.send(&payload).is_ok() {
            sent += 1;
        }
    }
    // A probe sent after the burst carries the drop count with it. It may
    // be dropped itself while the queue is still full: try again, a bounded
    // number of times (the timeout bounds each try, it does not pace).
    let prober = socket_for(&server);
    prober
        .set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .expect("timeout");
    let mut buf = vec![0; 2048];
    let answered = (0..100).find(|_| {
        sent += u64::from(prober.send(b"probe").is_ok());
        loop {
            match prober.recv(&mut buf) {
                Ok(n) if &buf[..n] == b"probe" => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    });
    assert!(answered.is_some(), "no probe came back");
    server.signal("TERM");
    let (status, log) = server.wait_exit();
    assert_eq!(status.code(), Some(0));
    let summary = log
        .iter()
        .find(|l| l.contains("stopped after"))
        .expect("summary");
    let counter = |key: &str| -> Option<u64> {
        summary
            .split(' ')
            .find_map(|field| field.strip_prefix(key))
            .and_then(|v| v.parse().ok())
    };
    if !cfg!(target_os = "linux") {
        assert!(summary.contains("kernel_dropped=not-reported"), "{summary}");
        return;
    }
    let received = counter("datagrams_in=").expect("datagrams_in");
    let dropped = counter("kernel_dropped=").expect("kernel_dropped");
    assert!(
        dropped > 0,
        "a {BURST}-datagram burst into a tiny buffer: {summary}"
    );
    // Every datagram sent was either received or counted dropped.
    assert_eq!(received + dropped, sent, "{summary}");
}
