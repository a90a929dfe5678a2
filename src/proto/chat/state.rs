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
//! ## Fan-out without copies
//!
//! A line for a room is formatted **once**, into one reference-counted
//! buffer (`Rc<[u8]>`), and every recipient gets an [`Action::Send`] holding
//! a clone of that `Rc`: a counter increment, not a copy. The loop queues
//! the same `Rc` on each member's connection and writes it from there, so a
//! message to a thousand members costs one allocation of the message.

use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Write as _};
use std::rc::Rc;

use slab::Slab;

use super::command::{is_valid_name, Command, HELP};
use crate::proto::line::Frame;

/// The room every member starts in.
pub const LOBBY: &str = "lobby";

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
    /// Send this line (ends with `\n`) to this member.
    Send(MemberId, Rc<[u8]>),
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
    /// The room it is in, by its key in `ChatState::rooms` ([`name_key`]).
    room: String,
    /// Its position in that room's member list, for removal in O(1).
    slot: usize,
}

/// One room; it exists while it has members.
#[derive(Debug)]
struct Room {
    /// Its name as it was spelled when it was created: how it is shown.
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
    /// The rooms with members, by name in lower case ([`name_key`]: rooms
    /// ignore case, as names do): a `BTreeMap` so `/rooms` comes out sorted.
    rooms: BTreeMap<String, Room>,
    /// Guest numbers handed out so far (`guest-N` counts up per run).
    guests: u64,
    /// `--max-line`, for the error message that names it.
    max_line: usize,
    /// Where lines are formatted before they are frozen into an `Rc`;
    /// reused, so formatting does not allocate.
    scratch: Vec<u8>,
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
            scratch: Vec::new(),
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

    /// The room a member is in, while it is in the chat.
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
        let welcome = format(
            &mut self.scratch,
            format_args!("* welcome {name}, you are in #{LOBBY}"),
        );
        out.push(Action::Send(id, welcome));
        let joined = format(&mut self.scratch, format_args!("* {name} joined"));
        tell_room(&self.rooms, LOBBY, Some(id), joined, out);
        id
    }

    /// A member sent a frame (a line, or the reason one was dropped).
    pub fn input(&mut self, id: MemberId, frame: Frame<'_>, out: &mut Vec<Action>) {
        if !self.members.contains(id.index()) {
            return;
        }
        match frame {
            Frame::Line(line) if line.chars().any(is_hidden_control) => {
                // Terminal escapes and bells would act on everyone's screen;
                // they are shown as U+FFFD instead.
                let shown: String = line
                    .chars()
                    .map(|c| if is_hidden_control(c) { '\u{FFFD}' } else { c })
                    .collect();
                self.command(id, Command::parse(&shown), out)
            }
            Frame::Line(line) => self.command(id, Command::parse(line), out),
            Frame::TooLong => {
                let max = self.max_line;
                self.reply(id, format_args!("! line too long (max {max} bytes)"), out);
            }
            Frame::InvalidUtf8 => self.reply(id, format_args!("! invalid UTF-8"), out),
        }
    }

    /// A member leaves without `/quit`; its room is told.
    pub fn leave(&mut self, id: MemberId, why: Departure, out: &mut Vec<Action>) {
        if !self.members.contains(id.index()) {
            return;
        }
        match why {
            Departure::Disconnected => {}
            Departure::Idle => self.reply(id, format_args!("! idle timeout"), out),
        }
        self.remove(id, out);
    }

    /// The server is shutting down: every member is told, then the chat is
    /// emptied at once (nobody is told who left: everybody is leaving).
    pub fn shut_down(&mut self, out: &mut Vec<Action>) {
        let notice = format(&mut self.scratch, format_args!("* server shutting down"));
        for (index, _) in &self.members {
            out.push(Action::Send(MemberId(index as u32), notice.clone()));
        }
        self.members.clear();
        self.names.clear();
        self.rooms.clear();
    }

    /// One parsed line: the whole chat table, one arm each.
    fn command(&mut self, id: MemberId, command: Command<'_>, out: &mut Vec<Action>) {
        let me = &self.members[id.index()];
        match command {
            Command::Empty => {}
            Command::Say(text) => {
                let line = format(&mut self.scratch, format_args!("{}: {text}", me.name));
                tell_room(&self.rooms, &me.room, Some(id), line, out);
            }
            Command::Me(action) => {
                let line = format(&mut self.scratch, format_args!("* {} {action}", me.name));
                tell_room(&self.rooms, &me.room, Some(id), line, out);
            }
            Command::Nick(name) => self.nick(id, name, out),
            Command::Msg { to, text } => match self.names.get(&name_key(to)) {
                Some(&target) => {
                    let line = format(
                        &mut self.scratch,
                        format_args!("[private] {}: {text}", me.name),
                    );
                    out.push(Action::Send(target, line));
                }
                None => self.reply(id, format_args!("! no such user {to}"), out),
            },
            Command::Who => {
                let room = &self.rooms[&me.room];
                let mut names: Vec<&str> = room
                    .members
                    .iter()
                    .map(|m| self.members[m.index()].name.as_str())
                    .collect();
                // Sorted as people read names: `alice, bob, Zed`.
                names.sort_unstable_by_key(|name| (name.to_ascii_lowercase(), *name));
                let line = format!("* in #{}: {}", room.name, names.join(", "));
                self.reply(id, format_args!("{line}"), out);
            }
            Command::Join(room) => self.join_room(id, room, out),
            Command::Rooms => {
                let mut line = String::from("* rooms: ");
                for (i, room) in self.rooms.values().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    let _ = write!(line, "{sep}{} ({})", room.name, room.members.len());
                }
                self.reply(id, format_args!("{line}"), out);
            }
            Command::Help => {
                for help in HELP {
                    self.reply(id, format_args!("* {help}"), out);
                }
            }
            Command::Quit => {
                self.reply(id, format_args!("* bye"), out);
                out.push(Action::Close(id));
                self.remove(id, out);
            }
            Command::Usage(usage) => self.reply(id, format_args!("! usage: {usage}"), out),
            Command::Unknown(word) => {
                self.reply(id, format_args!("! unknown command {word}"), out);
            }
        }
    }

    /// `/nick NAME`.
    fn nick(&mut self, id: MemberId, name: &str, out: &mut Vec<Action>) {
        if !is_valid_name(name) {
            return self.reply(id, format_args!("! invalid name"), out);
        }
        let me = &self.members[id.index()];
        if me.name == name {
            return self.reply(id, format_args!("* you are now {name}"), out);
        }
        // Names are unique whatever their case (`ann` and `ANN` are one
        // person to a reader); a member may change the case of its own.
        if self
            .names
            .get(&name_key(name))
            .is_some_and(|&owner| owner != id)
        {
            return self.reply(id, format_args!("! name {name} is taken"), out);
        }
        let (old, room) = (me.name.clone(), me.room.clone());
        self.names.remove(&name_key(&old));
        self.names.insert(name_key(name), id);
        self.members[id.index()].name = name.to_string();
        self.reply(id, format_args!("* you are now {name}"), out);
        let notice = format(&mut self.scratch, format_args!("* {old} is now {name}"));
        tell_room(&self.rooms, &room, Some(id), notice, out);
    }

    /// `/join ROOM`.
    fn join_room(&mut self, id: MemberId, room: &str, out: &mut Vec<Action>) {
        if !is_valid_name(room) {
            return self.reply(id, format_args!("! invalid room name"), out);
        }
        let me = &self.members[id.index()];
        // Rooms ignore case: `/join RUST` from #rust moves nobody.
        let key = name_key(room);
        if me.room != key {
            let (name, old) = (me.name.clone(), me.room.clone());
            self.exit(id);
            let left = format(&mut self.scratch, format_args!("* {name} left"));
            tell_room(&self.rooms, &old, None, left, out);
            self.enter(id, room);
            let joined = format(&mut self.scratch, format_args!("* {name} joined"));
            tell_room(&self.rooms, &key, Some(id), joined, out);
        }
        // Shown as the room was spelled when it was created.
        let shown = self.rooms.get(&key).map_or(room, |r| r.name.as_str());
        let line = format(&mut self.scratch, format_args!("* you are in #{shown}"));
        out.push(Action::Send(id, line));
    }

    /// Takes a member out of the chat and tells its room.
    fn remove(&mut self, id: MemberId, out: &mut Vec<Action>) {
        let room = self.members[id.index()].room.clone();
        self.exit(id);
        let member = self.members.remove(id.index());
        self.names.remove(&name_key(&member.name));
        let left = format(&mut self.scratch, format_args!("* {} left", member.name));
        tell_room(&self.rooms, &room, None, left, out);
    }

    /// Puts a member into `room`, creating the room if needed. Rooms are
    /// keyed by [`name_key`], so `a` and `A` are one room; keyed by the name
    /// as typed, they were two (found by the `chat` fuzz target).
    fn enter(&mut self, id: MemberId, room: &str) {
        let key = name_key(room);
        let entry = self.rooms.entry(key.clone()).or_insert_with(|| Room {
            name: room.to_string(),
            members: Vec::new(),
        });
        entry.members.push(id);
        let me = &mut self.members[id.index()];
        me.slot = entry.members.len() - 1;
        me.room = key;
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

    /// One line to one member.
    fn reply(&mut self, id: MemberId, args: fmt::Arguments<'_>, out: &mut Vec<Action>) {
        let line = format(&mut self.scratch, args);
        out.push(Action::Send(id, line));
    }
}

/// One line, shared, to everyone in the room keyed `room` but `except`.
fn tell_room(
    rooms: &BTreeMap<String, Room>,
    room: &str,
    except: Option<MemberId>,
    line: Rc<[u8]>,
    out: &mut Vec<Action>,
) {
    let Some(room) = rooms.get(room) else {
        return;
    };
    out.reserve(room.members.len());
    for &member in &room.members {
        if Some(member) != except {
            out.push(Action::Send(member, Rc::clone(&line)));
        }
    }
}

/// Formats one line into `scratch`, adds its `\n`, and freezes it into a
/// shared buffer: one allocation, however many members it then goes to.
fn format(scratch: &mut Vec<u8>, args: fmt::Arguments<'_>) -> Rc<[u8]> {
    scratch.clear();
    // Writing into a Vec cannot fail.
    let _ = std::io::Write::write_fmt(scratch, args);
    scratch.push(b'\n');
    Rc::from(&scratch[..])
}

/// The key a name (or a room) is unique under: names differ only if they
/// differ in more than ASCII case (names are ASCII by the name rules).
fn name_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// Control characters other than tab, which a terminal would act on.
fn is_hidden_control(c: char) -> bool {
    c.is_control() && c != '\t'
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;

#[cfg(test)]
#[path = "fuzz_regressions.rs"]
mod fuzz_regressions;
