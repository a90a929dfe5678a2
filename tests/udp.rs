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
