//! The chat as several members type into it: each member's bytes go
//! through its own `LineFramer` into `ChatState::input`, cut into reads
//! anywhere, as `proto/chat/hub.rs` does for a TCP member. Members also
//! hang up, go idle and come back (a new connection, a new member).
//!
//! Checks, after every line: nothing panics; every line sent ends with its
//! one `\n`; names stay unique whatever their case, and so do rooms (the
//! chat's rules say `Rust` and `rust` are one room); the count of members
//! is right. At the end, a shutdown tells every member and empties the chat.

#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use reactor::proto::chat::state::{Action, ChatState, Departure, MemberId};
use reactor::proto::line::LineFramer;
use reactor_fuzz::{read_len, Input};

/// One connection: its member (none after `/quit`), its framer and the
/// input it left unconsumed.
struct Peer {
    member: Option<MemberId>,
    framer: LineFramer,
    pending: Vec<u8>,
}

/// The chat and its connections.
struct Chat {
    state: ChatState,
    peers: Vec<Peer>,
    actions: Vec<Action>,
    max_line: usize,
}

impl Chat {
    /// A new connection on `slot`: a new member, as `on_open` makes.
    fn connect(&mut self, slot: usize) {
        let member = self.state.join(&mut self.actions);
        self.peers[slot] = Peer {
            member: Some(member),
            framer: LineFramer::new(self.max_line),
            pending: Vec::new(),
        };
        self.check();
    }

    /// The member on `slot` leaves without `/quit`.
    fn leave(&mut self, slot: usize, why: Departure) {
        if let Some(member) = self.peers[slot].member.take() {
            self.state.leave(member, why, &mut self.actions);
            self.check();
        }
    }

    /// One read for `slot`, handled as `Chat::on_input` does.
    fn read(&mut self, slot: usize, bytes: &[u8]) {
        if self.peers[slot].member.is_none() {
            self.connect(slot);
        }
        let peer = &mut self.peers[slot];
        let Some(member) = peer.member else { return };
        let mut pending = std::mem::take(&mut peer.pending);
        pending.extend_from_slice(bytes);
        let mut framer = peer.framer.clone();
        let mut lines = framer.lines(&pending);
        for frame in &mut lines {
            self.state.input(member, frame, &mut self.actions);
            self.check();
            if self.peers[slot].member.is_none() {
                // `/quit`: the rest of its input is ignored.
                return;
            }
        }
        let used = lines.consumed();
        pending.drain(..used);
        assert!(pending.len() <= self.max_line + 1, "kept {}", pending.len());
        self.peers[slot].pending = pending;
        self.peers[slot].framer = framer;
    }

    /// Carries out the actions and checks the chat's invariants.
    fn check(&mut self) {
        for action in self.actions.drain(..) {
            match action {
                Action::Send(_, message) => {
                    // The line a TCP member is sent for it.
                    let mut line = Vec::new();
                    message.write_line(&mut line);
                    let body = line.strip_suffix(b"\n");
                    assert!(
                        body.is_some_and(|body| !body.contains(&b'\n')),
                        "not one line: {:?}",
                        String::from_utf8_lossy(&line)
                    );
                }
                Action::Close(member) => {
                    for peer in &mut self.peers {
                        if peer.member == Some(member) {
                            peer.member = None;
                        }
                    }
                }
            }
        }
        let members: Vec<MemberId> = self.peers.iter().filter_map(|p| p.member).collect();
        assert_eq!(self.state.len(), members.len(), "members miscounted");
        let mut names = HashSet::new();
        let mut rooms: Vec<&str> = Vec::new();
        for &member in &members {
            let name = self.state.name(member).unwrap_or_else(|| panic!("lost"));
            assert!(
                names.insert(name.to_ascii_lowercase()),
                "two members are called {name}"
            );
            let room = self
                .state
                .room(member)
                .unwrap_or_else(|| panic!("roomless"));
            for other in &rooms {
                assert!(
                    room == *other || !room.eq_ignore_ascii_case(other),
                    "two rooms {room} and {other}"
                );
            }
            rooms.push(room);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let input = Input::parse(data);
    // Room for commands, and small enough that long lines happen.
    let max_line = 8 + usize::from(input.config[0]);
    let slots = 1 + usize::from(input.config[1] % 4);
    let mut chat = Chat {
        state: ChatState::new(max_line),
        peers: (0..slots)
            .map(|_| Peer {
                member: None,
                framer: LineFramer::new(max_line),
                pending: Vec::new(),
            })
            .collect(),
        actions: Vec::new(),
        max_line,
    };
    for slot in 0..slots {
        chat.connect(slot);
    }
    // Cut bytes in pairs: who (and what), then how long a read.
    let mut rest = input.stream;
    for pair in input.cuts.chunks(2) {
        let (who, len) = (pair[0], pair.get(1).copied().unwrap_or(0));
        let slot = usize::from(who) % slots;
        match who >> 5 {
            6 => chat.leave(slot, Departure::Disconnected),
            7 => chat.leave(slot, Departure::Idle),
            _ => {
                let (read, after) = rest.split_at(read_len(len).min(rest.len()));
                if !read.is_empty() {
                    chat.read(slot, read);
                }
                rest = after;
            }
        }
    }
    if !rest.is_empty() {
        chat.read(0, rest);
    }
    let live: Vec<MemberId> = chat.peers.iter().filter_map(|p| p.member).collect();
    chat.state.shut_down(&live, &mut chat.actions);
    assert_eq!(chat.actions.len(), live.len(), "one notice per member");
    assert!(chat.state.is_empty());
});
