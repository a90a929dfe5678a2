//! A burst: a thousand connections at once, to the chat, where each
//! welcome is news for the whole room, so the loop is busy while the
//! connections arrive. The kernel holds what the loop has not accepted
//! yet in the listen backlog; if that overflows, handshakes are dropped.
//! Chat speaks first, so a client whose handshake was half dropped
//! believes it is connected and waits for a welcome that never comes.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::support::*;

#[test]
fn a_burst_of_a_thousand_chat_members_is_welcomed_every_one() {
    // Every one is welcomed, and promptly.
    let server = Server::start(&["chat"]);
    let members: Vec<TcpStream> = (0..1000).map(|_| connect_later(server.addr)).collect();
    let started = Instant::now();
    for (i, mut member) in members.into_iter().enumerate() {
        let mut first = Vec::new();
        while !first.ends_with(b"\n") {
            first.extend(read_exact(&mut member, 1));
        }
        assert!(
            first.starts_with(b"* welcome guest-"),
            "member {i}: {:?}",
            String::from_utf8_lossy(&first)
        );
    }
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(10),
        "welcomed after {waited:?}"
    );
    chat_serves(server.addr);
}
