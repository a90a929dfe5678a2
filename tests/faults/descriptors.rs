//! Out of descriptors: a server allowed 64 (`ulimit -n 64`, soft and hard,
//! so it cannot raise its own limit) meets 200 connections. It keeps
//! serving the ones it accepted, does not spin on the ones it cannot
//! accept (CPU under 50% while at the limit), and accepts the rest once
//! descriptors are free.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::support::*;

const ATTEMPTS: usize = 200;

/// The server's CPU use over about a second, as a fraction of one core.
fn cpu_share(server: &Server) -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let (before, started) = (server.cpu_ticks(), Instant::now());
    // The sleep is the measuring window; it synchronises nothing.
    std::thread::sleep(Duration::from_secs(1));
    let used = (server.cpu_ticks() - before) as f64 / ticks_per_second;
    used / started.elapsed().as_secs_f64()
}

/// Runs the scenario against `args`; `served` checks one exchange on a
/// connection the server accepted.
fn two_hundred_at_sixty_four(args: &[&str], served: impl Fn(&mut TcpStream, usize) + Sync) {
    let mut server = Server::start_after("ulimit -n 64", args);
    // Beyond the 64 descriptors, connections wait in the listen backlog
    // (1024), made by the kernel but not accepted.
    let mut clients: Vec<TcpStream> = (0..ATTEMPTS).map(|_| connect_later(server.addr)).collect();
    server.wait_for_log("out of file descriptors");

    let share = cpu_share(&server);
    assert!(
        share < 0.5,
        "the server spun at the limit: {:.0}% CPU",
        share * 100.0
    );
    // The first connections were accepted before the limit: still served.
    for (i, client) in clients.iter_mut().take(10).enumerate() {
        served(client, i);
    }

    // Free half: the waiting connections are accepted as descriptors
    // free up, and served, each on its own thread and closed once served,
    // so that the next one finds a descriptor too: the server holds about
    // 55 connections here, and accepts them in the kernel's order, not
    // ours.
    let waiting = clients.split_off(ATTEMPTS / 2);
    drop(clients);
    std::thread::scope(|scope| {
        for (i, mut client) in waiting.into_iter().enumerate() {
            let served = &served;
            scope.spawn(move || served(&mut client, i));
        }
    });
}

#[test]
fn echo_out_of_descriptors_serves_what_it_has_without_spinning_and_recovers() {
    two_hundred_at_sixty_four(&["echo"], |stream, i| {
        round_trip(stream, format!("client {i}").as_bytes());
    });
}

#[test]
fn http_out_of_descriptors_serves_what_it_has_without_spinning_and_recovers() {
    two_hundred_at_sixty_four(&["http"], |stream, _| {
        stream.write_all(GET).expect("GET");
        let (head, _) = read_answer(stream);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    });
}

#[test]
fn chat_out_of_descriptors_serves_what_it_has_without_spinning_and_recovers() {
    two_hundred_at_sixty_four(&["chat"], |stream, _| {
        // Skip the welcome and the notices of others joining and leaving,
        // then ask the room who is in it.
        stream.write_all(b"/rooms\n").expect("write");
        let mut line = Vec::new();
        loop {
            let byte = read_exact(stream, 1)[0];
            line.push(byte);
            if byte == b'\n' {
                if line.starts_with(b"* rooms: lobby") {
                    return;
                }
                line.clear();
            }
        }
    });
}
