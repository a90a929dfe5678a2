//! What a chat line asks for: parsing `/cmd ARGS` into a [`Command`].
//!
//! Parsing is kept apart from acting on it ([`super::state`]) so that each
//! side reads on its own: this file is the grammar, a list of words and
//! what follows them; the state machine is one exhaustive `match` over the
//! result, so adding a command is a compile error until it is handled.
//!
//! Command words are matched without regard to case (`/NICK` works, as in
//! IRC); arguments are kept as typed, with surrounding spaces trimmed.
//! [`shown`] is the other half of reading a line: what of it may reach
//! other people's screens.

use std::borrow::Cow;

/// One line from a member, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    /// An empty line: ignored.
    Empty,
    /// A line not starting with `/`: said to the room.
    Say(&'a str),
    /// `/nick NAME`: rename (the name is checked later).
    Nick(&'a str),
    /// `/me ACTION`: an action in the third person.
    Me(&'a str),
    /// `/msg NAME TEXT`: a private message, in any room.
    Msg {
        /// Who it is for.
        to: &'a str,
        /// What it says.
        text: &'a str,
    },
    /// `/who`: the members of the sender's room.
    Who,
    /// `/join ROOM`: move to another room (a leading `#` is allowed).
    Join(&'a str),
    /// `/rooms`: every room with its head count.
    Rooms,
    /// `/help`: the list of commands.
    Help,
    /// `/quit`: leave.
    Quit,
    /// A known command missing its argument: the usage line to show.
    Usage(&'static str),
    /// `/something` that is not a command (the word, with its `/`).
    Unknown(&'a str),
}

/// The commands and what they do, as `/help` prints them, one line each.
pub const HELP: &[&str] = &[
    "commands:",
    "  /nick NAME        change your name (1-32 of A-Z a-z 0-9 _ -)",
    "  /me ACTION        say what you do: * NAME ACTION",
    "  /msg NAME TEXT    private message, to anyone in any room",
    "  /who              who is in your room",
    "  /join ROOM        move to ROOM (created if needed)",
    "  /rooms            every room and how many are in it",
    "  /help             this list",
    "  /quit             leave",
    "anything else not starting with / is said to your room",
];

impl<'a> Command<'a> {
    /// Parses one line (already framed: no `\n`, UTF-8).
    pub fn parse(line: &'a str) -> Command<'a> {
        if line.is_empty() {
            return Command::Empty;
        }
        let Some(after_slash) = line.strip_prefix('/') else {
            return Command::Say(line);
        };
        let (word, rest) = match after_slash.split_once(' ') {
            Some((word, rest)) => (word, rest.trim()),
            None => (after_slash, ""),
        };
        let is = |name: &str| word.eq_ignore_ascii_case(name);
        if is("nick") {
            Command::Nick(rest)
        } else if is("me") {
            match rest {
                "" => Command::Usage("/me ACTION"),
                action => Command::Me(action),
            }
        } else if is("msg") {
            match rest.split_once(' ') {
                Some((to, text)) if !text.trim().is_empty() => Command::Msg {
                    to,
                    text: text.trim_start(),
                },
                _ => Command::Usage("/msg NAME TEXT"),
            }
        } else if is("who") {
            Command::Who
        } else if is("join") {
            match rest {
                "" => Command::Usage("/join ROOM"),
                room => Command::Join(room.strip_prefix('#').unwrap_or(room)),
            }
        } else if is("rooms") {
            Command::Rooms
        } else if is("help") {
            Command::Help
        } else if is("quit") {
            Command::Quit
        } else {
            Command::Unknown(&line[..word.len() + 1])
        }
    }
}

/// Whether `name` is a valid member or room name: 1 to 32 characters, each
/// one of `A-Z a-z 0-9 _ -`.
pub fn is_valid_name(name: &str) -> bool {
    (1..=MAX_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Longest name, in characters (all ASCII, so bytes too).
pub const MAX_NAME: usize = 32;

/// `line` as others may see it: every character that would act on their
/// terminal instead of being shown ([`is_hidden`]) replaced by U+FFFD.
/// Borrowed, without a copy, when there is none (nearly always).
pub fn shown(line: &str) -> Cow<'_, str> {
    if !line.chars().any(is_hidden) {
        return Cow::Borrowed(line);
    }
    let shown = line
        .chars()
        .map(|c| if is_hidden(c) { '\u{FFFD}' } else { c })
        .collect();
    Cow::Owned(shown)
}

/// Whether a character may not reach other people's screens as it is:
///
/// * control characters but tab: ESC starts terminal escape sequences
///   (colours, clearing the screen, moving the cursor over other lines),
///   BEL rings, a bare CR goes back over the sender's own name;
/// * the bidirectional embeddings, overrides and isolates, U+202A to
///   U+202E and U+2066 to U+2069: they reorder what follows, so that
///   `guest-1: ` and the text after it can be made to read backwards or
///   look like someone else's line;
/// * the line and paragraph separators U+2028 and U+2029, which some
///   terminals and most browsers break the line at: a second line that
///   looks like it came from the server.
pub fn is_hidden(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_are_said_and_empty_ones_ignored() {
        assert_eq!(Command::parse(""), Command::Empty);
        assert_eq!(Command::parse("hello /all"), Command::Say("hello /all"));
        assert_eq!(Command::parse(" /nick x"), Command::Say(" /nick x"));
    }

    #[test]
    fn commands_and_their_arguments() {
        assert_eq!(Command::parse("/nick  bob "), Command::Nick("bob"));
        assert_eq!(Command::parse("/nick"), Command::Nick(""));
        assert_eq!(Command::parse("/NICK bob"), Command::Nick("bob"));
        assert_eq!(Command::parse("/me waves"), Command::Me("waves"));
        assert_eq!(
            Command::parse("/msg bob  hi there "),
            Command::Msg {
                to: "bob",
                text: "hi there"
            }
        );
        assert_eq!(Command::parse("/who"), Command::Who);
        assert_eq!(Command::parse("/join rust"), Command::Join("rust"));
        assert_eq!(Command::parse("/join #rust"), Command::Join("rust"));
        assert_eq!(Command::parse("/rooms"), Command::Rooms);
        assert_eq!(Command::parse("/help"), Command::Help);
        assert_eq!(Command::parse("/quit"), Command::Quit);
        assert_eq!(Command::parse("/quit now"), Command::Quit);
    }

    #[test]
    fn missing_arguments_give_the_usage() {
        assert_eq!(Command::parse("/me"), Command::Usage("/me ACTION"));
        assert_eq!(Command::parse("/msg"), Command::Usage("/msg NAME TEXT"));
        assert_eq!(Command::parse("/msg bob"), Command::Usage("/msg NAME TEXT"));
        assert_eq!(
            Command::parse("/msg bob  "),
            Command::Usage("/msg NAME TEXT")
        );
        assert_eq!(Command::parse("/join"), Command::Usage("/join ROOM"));
    }

    #[test]
    fn unknown_commands_are_named_with_their_slash() {
        assert_eq!(Command::parse("/dance now"), Command::Unknown("/dance"));
        assert_eq!(Command::parse("/"), Command::Unknown("/"));
        assert_eq!(Command::parse("/nickname x"), Command::Unknown("/nickname"));
    }

    #[test]
    fn name_rules() {
        assert!(is_valid_name("a"));
        assert!(is_valid_name("Guest_7-b"));
        assert!(is_valid_name(&"x".repeat(32)));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name(&"x".repeat(33)));
        assert!(!is_valid_name("two words"));
        assert!(!is_valid_name("bob!"));
        assert!(!is_valid_name("héloïse"));
    }

    #[test]
    fn what_others_may_see() {
        assert!(matches!(shown("你好 ✓\tok"), Cow::Borrowed("你好 ✓\tok")));
        assert_eq!(shown("\u{1b}[2J\u{7}\r"), "\u{FFFD}[2J\u{FFFD}\u{FFFD}");
        assert_eq!(shown("\u{85}\u{9b}"), "\u{FFFD}\u{FFFD}", "C1 controls");
        for c in ('\u{202A}'..='\u{202E}').chain('\u{2066}'..='\u{2069}') {
            assert!(is_hidden(c), "U+{:04X}", c as u32);
        }
        assert!(is_hidden('\u{2028}') && is_hidden('\u{2029}'));
        // Their neighbours, and marks that only shape text, are shown.
        for c in [
            '\u{2029}', '\u{202F}', '\u{2065}', '\u{206A}', '\u{200D}', '\u{200F}',
        ] {
            assert_eq!(is_hidden(c), c == '\u{2029}', "U+{:04X}", c as u32);
        }
    }
}
