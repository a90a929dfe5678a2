//! What the chat says, before any transport has shaped it: a [`Message`]
//! to a member, and the [`Reply`] a command gets.
//!
//! The chat state machine (`state.rs`) speaks only these. Each transport
//! renders them its own way: a TCP member reads `alice: hi` and
//! `* you are now bob` as lines ([`Message::write_line`],
//! [`Reply::messages`]); a Socket.IO member receives the events `message`
//! `{"from":"alice","text":"hi"}` and an acknowledgement
//! `{"ok":true,"name":"bob"}`. So rooms, names and order are one piece of
//! code whatever way a member came in.

use std::fmt::Write as _;

use super::command::HELP;

/// One thing a member is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A line said in the room: `from: text`.
    Chat {
        /// Who said it.
        from: String,
        /// What was said.
        text: String,
    },
    /// A private message: `[private] from: text`.
    Private {
        /// Who sent it.
        from: String,
        /// What it says.
        text: String,
    },
    /// News from the server: `* text` (joins, leaves, renames, actions,
    /// answers to commands).
    Notice(String),
    /// Something went wrong: `! text`.
    Error(String),
}

impl Message {
    /// The message as the line a TCP member reads, with its `\n`.
    pub fn write_line(&self, out: &mut Vec<u8>) {
        let mut line = String::new();
        // Writing into a String cannot fail.
        let _ = match self {
            Message::Chat { from, text } => write!(line, "{from}: {text}"),
            Message::Private { from, text } => write!(line, "[private] {from}: {text}"),
            Message::Notice(text) => write!(line, "* {text}"),
            Message::Error(text) => write!(line, "! {text}"),
        };
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }

    /// The line, as a `String` without its `\n` (for tests and logs).
    pub fn line(&self) -> String {
        let mut out = Vec::new();
        self.write_line(&mut out);
        out.pop();
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// What a command answers its sender. The room hears about it through the
/// state machine's actions; this is the sender's own result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Nothing to answer (an empty line).
    Silent,
    /// Done, nothing to say: a line said, an action, a private message sent.
    Ok,
    /// Renamed: the new name.
    Named(String),
    /// Moved: the room now in.
    Entered(String),
    /// The members of the sender's room, sorted as people read names.
    Who {
        /// The room.
        room: String,
        /// Who is in it.
        members: Vec<String>,
    },
    /// Every room with its head count, sorted by name.
    Rooms(Vec<(String, usize)>),
    /// The list of commands.
    Help,
    /// Leaving (`/quit`).
    Bye,
    /// Refused, and why: `name alice is taken`, `no such user bob`,
    /// `invalid UTF-8`...
    Refused(String),
}

impl Reply {
    /// The reply as the lines a member that reads lines is sent (empty for
    /// [`Reply::Silent`] and [`Reply::Ok`]).
    pub fn messages(&self) -> Vec<Message> {
        let notice = |text: String| vec![Message::Notice(text)];
        match self {
            Reply::Silent | Reply::Ok => Vec::new(),
            Reply::Named(name) => notice(format!("you are now {name}")),
            Reply::Entered(room) => notice(format!("you are in #{room}")),
            Reply::Who { room, members } => notice(format!("in #{room}: {}", members.join(", "))),
            Reply::Rooms(rooms) => {
                let list: Vec<String> = rooms
                    .iter()
                    .map(|(name, count)| format!("{name} ({count})"))
                    .collect();
                notice(format!("rooms: {}", list.join(", ")))
            }
            Reply::Help => HELP
                .iter()
                .map(|l| Message::Notice(l.to_string()))
                .collect(),
            Reply::Bye => notice("bye".to_string()),
            Reply::Refused(why) => vec![Message::Error(why.clone())],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_line() {
        let chat = Message::Chat {
            from: "ann".into(),
            text: "hi".into(),
        };
        assert_eq!(chat.line(), "ann: hi");
        let private = Message::Private {
            from: "ann".into(),
            text: "psst".into(),
        };
        assert_eq!(private.line(), "[private] ann: psst");
        assert_eq!(Message::Notice("bob joined".into()).line(), "* bob joined");
        assert_eq!(
            Message::Error("invalid name".into()).line(),
            "! invalid name"
        );
    }

    #[test]
    fn replies_become_the_lines_a_terminal_user_reads() {
        let rooms = Reply::Rooms(vec![("lobby".into(), 2), ("rust".into(), 1)]);
        assert_eq!(rooms.messages()[0].line(), "* rooms: lobby (2), rust (1)");
        assert!(Reply::Ok.messages().is_empty());
        assert_eq!(Reply::Help.messages().len(), HELP.len());
    }
}
