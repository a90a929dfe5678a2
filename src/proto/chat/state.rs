//! The chat itself, as a pure state machine: members, names and rooms.
//!
//! [`ChatState`] is what the chat table of `docs/reference.md` describes,
//! and nothing else. It takes events (a member joined, sent a frame, left)
//! and answers with [`Action`]s: this line to that member, close that
//! member. It has no sockets, no clock and no idea how a member is
//! connected: a member is an opaque [`MemberId`], so the same rooms can
//! serve members that come over WebSocket, or stand for a whole remote
//! server bridged through Redis when one machine is not enough. The tests
//! (`tests.rs` beside this file) drive it with plain function calls, one
//! per row of the table.
//!
//! What it says is a [`Message`] (a line said, a private message, a
//! notice, an error), and what a command answers its sender is a
//! [`Reply`] (`message.rs`): each transport renders those its own way.
//!
//! ## Fan-out without copies
//!
//! A message for a room is made **once**, into one reference-counted
//! [`Message`], and every recipient gets an [`Action::Send`] holding a
//! clone of that `Rc`: a counter increment, not a copy. The adapter renders
//! it once per transport and the loop queues the same bytes on each
//! member's connection, so a message to a thousand members costs one
//! allocation of each of its forms.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use slab::Slab;

use super::command::{is_valid_name, shown, Command};
use super::message::{Message, Reply};
use crate::proto::line::Frame;

/// The room every member starts in.
pub const LOBBY: &str = "lobby";

/// What a member whose client garbled a line is told (after `! `). Telnet
/// is named because it is the one client known to do it (see
/// `proto/telnet.rs`).
pub const GARBLED: &str = "line dropped: your telnet client garbled it (it turned typed bytes \
     into Telnet commands); the server has asked it for 8-bit mode, so please send the line again";

/// Names one member while it is in the chat. Like a file descriptor, an id
/// is reused once its member has left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberId(u32);

impl MemberId {
    /// A small dense number, for tables indexed by member.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What the state machine asks its host to do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this message to this member (one `Rc` for a whole room).
    Send(MemberId, Rc<Message>),
    /// The member asked to leave (`/quit`): close its connection once what
    /// was sent to it is delivered. It is no longer in the chat.
    Close(MemberId),
}

/// Why a member leaves, other than `/quit`: decides what it is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Departure {
    /// Its connection is gone (closed, reset, slow consumer): it is told
    /// nothing.
    Disconnected,
    /// It sent nothing for `--idle-timeout`: it is told `! idle timeout`.
    Idle,
}

/// One member.
#[derive(Debug)]
struct Member {
    /// Its name, unique in the chat.
    name: String,
    /// The room it is in, by key ([`name_key`]).
    room: String,
    /// Its position in that room's member list, for removal in O(1).
    slot: usize,
}

/// One room; it exists while it has members.
#[derive(Debug)]
struct Room {
    /// Its name as spelled by the member who created it: `/join Rust`
    /// then `/join rust` is one room, shown as `Rust`.
    name: String,
    /// Who is in it, in no particular order.
    members: Vec<MemberId>,
}

/// Every member, name and room of one chat server.
#[derive(Debug)]
pub struct ChatState {
    /// The members, by id.
    members: Slab<Member>,
    /// Name (in lower case, see [`name_key`]) to member, to keep names
    /// unique and find `/msg` recipients.
    names: HashMap<String, MemberId>,
    /// The rooms with members, by key ([`name_key`]: rooms ignore case
    /// as names do); a `BTreeMap` so `/rooms` comes out sorted.
    rooms: BTreeMap<String, Room>,
    /// Guest numbers handed out so far (`guest-N` counts up per run).
    guests: u64,
    /// `--max-line`, for the error message that names it.
    max_line: usize,
}

impl ChatState {
    /// An empty chat whose lines may be `max_line` bytes long.
    pub fn new(max_line: usize) -> ChatState {
        ChatState {
            members: Slab::new(),
            names: HashMap::new(),
            rooms: BTreeMap::new(),
            guests: 0,
            max_line,
        }
    }

    /// How many members are in the chat.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the chat is empty.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// A member's name, while it is in the chat.
    pub fn name(&self, id: MemberId) -> Option<&str> {
        self.members.get(id.index()).map(|m| m.name.as_str())
    }

    /// The room a member is in, while it is in the chat, as it is shown.
    pub fn room(&self, id: MemberId) -> Option<&str> {
        let member = self.members.get(id.index())?;
        self.rooms.get(&member.room).map(|room| room.name.as_str())
    }

    /// A new member arrives: it is named `guest-N`, put in the lobby and
    /// welcomed, and the lobby is told.
    pub fn join(&mut self, out: &mut Vec<Action>) -> MemberId {
        let name = loop {
            self.guests += 1;
            let name = format!("guest-{}", self.guests);
            // Someone may have taken this name with /nick already.
            if !self.names.contains_key(&name_key(&name)) {
                break name;
            }
        };
        let entry = self.members.vacant_entry();
        let id = MemberId(entry.key() as u32);
        entry.insert(Member {
            name: name.clone(),
            room: String::new(),
            slot: 0,
        });
        self.names.insert(name_key(&name), id);
        self.enter(id, LOBBY);
        let welcome = format!("welcome {name}, you are in #{LOBBY}");
        out.push(Action::Send(id, Rc::new(Message::Notice(welcome))));
        let joined = Message::Notice(format!("{name} joined"));
        tell_room(&self.rooms, &name_key(LOBBY), Some(id), joined, out);
        id
    }

    /// A member that reads lines sent a frame (a line, or the reason one
    /// was dropped): the command it is, carried out, with the reply sent
    /// back as lines.
    pub fn input(&mut self, id: MemberId, frame: Frame<'_>, out: &mut Vec<Action>) {
        let reply = match frame {
            Frame::Line(line) => self.command(id, Command::parse(line), out),
            Frame::TooLong => {
                Reply::Refused(format!("line too long (max {} bytes)", self.max_line))
            }
            Frame::InvalidUtf8 => Reply::Refused("invalid UTF-8".to_string()),
            Frame::Garbled => Reply::Refused(GARBLED.to_string()),
        };
        if !self.members.contains(id.index()) && reply != Reply::Bye {
            return;
        }
        for message in reply.messages() {
            out.push(Action::Send(id, Rc::new(message)));
        }
        if reply == Reply::Bye {
            out.push(Action::Close(id));
        }
    }

    /// A member leaves without `/quit`; its room is told.
    pub fn leave(&mut self, id: MemberId, why: Departure, out: &mut Vec<Action>) {
        if !self.members.contains(id.index()) {
            return;
        }
        match why {
            Departure::Disconnected => {}
            Departure::Idle => {
                let notice = Message::Error("idle timeout".to_string());
                out.push(Action::Send(id, Rc::new(notice)));
            }
        }
        self.remove(id, out);
    }

    /// The server is shutting down: each of `members` is told, then taken
    /// out of the chat at once (nobody is told who left: everybody is
    /// leaving). With several workers each tells its own members.
    pub fn shut_down(&mut self, members: &[MemberId], out: &mut Vec<Action>) {
        let notice = Rc::new(Message::Notice("server shutting down".to_string()));
        for &id in members {
            if self.members.contains(id.index()) {
                out.push(Action::Send(id, notice.clone()));
                self.exit(id);
                let member = self.members.remove(id.index());
                self.names.remove(&name_key(&member.name));
            }
        }
    }

    /// The member in slot `index`, if there is one.
    pub fn member_at(&self, index: usize) -> Option<MemberId> {
        self.members
            .contains(index)
            .then_some(MemberId(index as u32))
    }

    /// Every member.
    pub fn all_members(&self) -> Vec<MemberId> {
        self.members
            .iter()
            .map(|(index, _)| MemberId(index as u32))
            .collect()
    }

    /// Carries out one command of member `id`: the whole chat table, one
    /// arm each. Text others will read has what would act on their
    /// screens (control characters, bidi overrides, line separators) shown
    /// as U+FFFD here, whatever transport it came on (a Socket.IO message
    /// may hold a `\n`, which would forge a line for a TCP reader). What
    /// others are told goes into `out`; what the sender is answered is
    /// returned, for its transport to render (`/quit` also takes the
    /// member out of the chat).
    pub fn command(&mut self, id: MemberId, command: Command<'_>, out: &mut Vec<Action>) -> Reply {
        let Some(me) = self.members.get(id.index()) else {
            return Reply::Silent;
        };
        let (name, room) = (me.name.clone(), me.room.clone());
        match command {
            Command::Empty => Reply::Silent,
            Command::Say(text) => {
                let from = name;
                let text = shown(text).into_owned();
                tell_room(
                    &self.rooms,
                    &room,
                    Some(id),
                    Message::Chat { from, text },
                    out,
                );
                Reply::Ok
            }
            Command::Me(action) => {
                let action = shown(action);
                // `* NAME ACTION`, as IRC shows it, unless ACTION would
                // read as the server's own words about NAME (`/me left`,
                // `/me is now admin`): then `* NAME *ACTION*`. No server
                // notice ends with `*` (names cannot contain one), so such
                // an action cannot pass for a departure or a rename.
                let notice = if reads_like_a_notice(&action) {
                    Message::Notice(format!("{name} *{action}*"))
                } else {
                    Message::Notice(format!("{name} {action}"))
                };
                tell_room(&self.rooms, &room, Some(id), notice, out);
                Reply::Ok
            }
            Command::Nick(new) => self.nick(id, new, out),
            Command::Msg { to, text } => match self.names.get(&name_key(to)) {
                Some(&target) => {
                    let text = shown(text).into_owned();
                    let private = Message::Private { from: name, text };
                    out.push(Action::Send(target, Rc::new(private)));
                    Reply::Ok
                }
                None => Reply::Refused(format!("no such user {to}")),
            },
            Command::Who => Reply::Who {
                members: self.who(&room),
                room: self.shown_room(&room),
            },
            Command::Join(new) => self.join_room(id, new, out),
            // In key order: sorted as people read them.
            Command::Rooms => Reply::Rooms(
                self.rooms
                    .values()
                    .map(|room| (room.name.clone(), room.members.len()))
                    .collect(),
            ),
            Command::Help => Reply::Help,
            Command::Quit => {
                self.remove(id, out);
                Reply::Bye
            }
            Command::Usage(usage) => Reply::Refused(format!("usage: {usage}")),
            Command::Unknown(word) => Reply::Refused(format!("unknown command {word}")),
        }
    }

    /// The room keyed `key` as it is shown (as its creator spelled it).
    fn shown_room(&self, key: &str) -> String {
        self.rooms
            .get(key)
            .map_or_else(|| key.to_string(), |room| room.name.clone())
    }

    /// The names in `room`, sorted as people read them: `alice, bob, Zed`.
    fn who(&self, room: &str) -> Vec<String> {
        let Some(room) = self.rooms.get(room) else {
            return Vec::new();
        };
        let mut names: Vec<String> = room
            .members
            .iter()
            .map(|m| self.members[m.index()].name.clone())
            .collect();
        names.sort_unstable_by_key(|name| (name.to_ascii_lowercase(), name.clone()));
        names
    }

    /// `/nick NAME`.
    fn nick(&mut self, id: MemberId, name: &str, out: &mut Vec<Action>) -> Reply {
        if !is_valid_name(name) {
            return Reply::Refused("invalid name".to_string());
        }
        let me = &self.members[id.index()];
        if me.name == name {
            return Reply::Named(name.to_string());
        }
        // Names are unique whatever their case (`ann` and `ANN` are one
        // person to a reader); a member may change the case of its own.
        if self
            .names
            .get(&name_key(name))
            .is_some_and(|&owner| owner != id)
        {
            return Reply::Refused(format!("name {name} is taken"));
        }
        let (old, room) = (me.name.clone(), me.room.clone());
        self.names.remove(&name_key(&old));
        self.names.insert(name_key(name), id);
        self.members[id.index()].name = name.to_string();
        let notice = Message::Notice(format!("{old} is now {name}"));
        tell_room(&self.rooms, &room, Some(id), notice, out);
        Reply::Named(name.to_string())
    }

    /// `/join ROOM`.
    fn join_room(&mut self, id: MemberId, room: &str, out: &mut Vec<Action>) -> Reply {
        if !is_valid_name(room) {
            return Reply::Refused("invalid room name".to_string());
        }
        let me = &self.members[id.index()];
        let key = name_key(room);
        if me.room != key {
            let (name, old) = (me.name.clone(), me.room.clone());
            self.exit(id);
            let left = Message::Notice(format!("{name} left"));
            tell_room(&self.rooms, &old, None, left, out);
            self.enter(id, room);
            let joined = Message::Notice(format!("{name} joined"));
            tell_room(&self.rooms, &key, Some(id), joined, out);
        }
        Reply::Entered(self.shown_room(&key))
    }

    /// Takes a member out of the chat and tells its room.
    fn remove(&mut self, id: MemberId, out: &mut Vec<Action>) {
        let room = self.members[id.index()].room.clone();
        self.exit(id);
        let member = self.members.remove(id.index());
        self.names.remove(&name_key(&member.name));
        let left = Message::Notice(format!("{} left", member.name));
        tell_room(&self.rooms, &room, None, left, out);
    }

    /// Puts a member into `room` (whatever its case), creating the room,
    /// spelled so, if needed.
    fn enter(&mut self, id: MemberId, room: &str) {
        let key = name_key(room);
        let members = &mut self
            .rooms
            .entry(key.clone())
            .or_insert_with(|| Room {
                name: room.to_string(),
                members: Vec::new(),
            })
            .members;
        members.push(id);
        let me = &mut self.members[id.index()];
        me.room = key;
        me.slot = members.len() - 1;
    }

    /// Takes a member out of its room, dropping the room if it empties.
    fn exit(&mut self, id: MemberId) {
        let me = &self.members[id.index()];
        let slot = me.slot;
        let Some(room) = self.rooms.get_mut(&me.room) else {
            return;
        };
        room.members.swap_remove(slot);
        let moved = room.members.get(slot).copied();
        if room.members.is_empty() {
            self.rooms.remove(&me.room);
        }
        // The last member moved into the freed slot: tell it so.
        if let Some(moved) = moved {
            self.members[moved.index()].slot = slot;
        }
    }
}

/// One message, shared, to everyone in the room keyed `room` but `except`.
fn tell_room(
    rooms: &BTreeMap<String, Room>,
    room: &str,
    except: Option<MemberId>,
    message: Message,
    out: &mut Vec<Action>,
) {
    let Some(room) = rooms.get(room) else {
        return;
    };
    let message = Rc::new(message);
    out.reserve(room.members.len());
    for &member in &room.members {
        if Some(member) != except {
            out.push(Action::Send(member, Rc::clone(&message)));
        }
    }
}

/// The key a name or a room is unique under: they differ only if they
/// Whether an action's words are the server's own about a member: `left`,
/// `joined`, `is now NAME` (whatever their case or spacing).
fn reads_like_a_notice(action: &str) -> bool {
    let words = action.split_whitespace().collect::<Vec<_>>().join(" ");
    let words = words.to_lowercase();
    words == "left" || words == "joined" || words.starts_with("is now")
}

/// differ in more than ASCII case (both are ASCII by the name rules).
fn name_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;

#[cfg(test)]
#[path = "fuzz_regressions.rs"]
mod fuzz_regressions;
