//! The chat state machine driven by plain calls: one test per row of the
//! chat table in `docs/reference.md` at least, no sockets, no clock.

use std::collections::HashMap;

use super::*;

/// A chat and what it said in the last step.
struct Harness {
    chat: ChatState,
    actions: Vec<Action>,
}

/// What each member was sent in one step, and who was closed.
#[derive(Debug, Default)]
struct Heard {
    lines: HashMap<MemberId, Vec<String>>,
    closed: Vec<MemberId>,
}

impl Heard {
    /// The lines `id` got, without their `\n`.
    fn to(&self, id: MemberId) -> Vec<&str> {
        self.lines
            .get(&id)
            .map(|lines| lines.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// How many members got anything.
    fn recipients(&self) -> usize {
        self.lines.len()
    }
}

impl Harness {
    fn new() -> Harness {
        Harness {
            chat: ChatState::new(4096),
            actions: Vec::new(),
        }
    }

    fn heard(&mut self) -> Heard {
        let mut heard = Heard::default();
        for action in self.actions.drain(..) {
            match action {
                Action::Send(id, message) => {
                    let text = message.line();
                    assert!(!text.contains('\n'), "one line per action: {text:?}");
                    heard.lines.entry(id).or_default().push(text);
                }
                Action::Close(id) => heard.closed.push(id),
            }
        }
        heard
    }

    fn join(&mut self) -> (MemberId, Heard) {
        let id = self.chat.join(&mut self.actions);
        (id, self.heard())
    }

    /// Joins and forgets what was said.
    fn member(&mut self) -> MemberId {
        self.join().0
    }

    fn send(&mut self, id: MemberId, line: &str) -> Heard {
        self.chat.input(id, Frame::Line(line), &mut self.actions);
        self.heard()
    }

    fn frame(&mut self, id: MemberId, frame: Frame<'_>) -> Heard {
        self.chat.input(id, frame, &mut self.actions);
        self.heard()
    }

    fn leave(&mut self, id: MemberId, why: Departure) -> Heard {
        self.chat.leave(id, why, &mut self.actions);
        self.heard()
    }
}

#[test]
fn connect_welcomes_the_guest_and_tells_the_room() {
    let mut h = Harness::new();
    let (a, heard) = h.join();
    assert_eq!(heard.to(a), ["* welcome guest-1, you are in #lobby"]);
    let (b, heard) = h.join();
    assert_eq!(heard.to(b), ["* welcome guest-2, you are in #lobby"]);
    assert_eq!(heard.to(a), ["* guest-2 joined"]);
    assert_eq!(heard.recipients(), 2);
}

#[test]
fn a_line_goes_to_the_others_in_the_room_not_the_sender() {
    let mut h = Harness::new();
    let (a, b, c) = (h.member(), h.member(), h.member());
    let heard = h.send(a, "hello there");
    assert!(heard.to(a).is_empty());
    assert_eq!(heard.to(b), ["guest-1: hello there"]);
    assert_eq!(heard.to(c), ["guest-1: hello there"]);
}

#[test]
fn a_room_line_is_one_shared_buffer() {
    let mut h = Harness::new();
    let a = h.member();
    for _ in 0..10 {
        h.member();
    }
    h.chat.input(a, Frame::Line("once"), &mut h.actions);
    let Some(Action::Send(_, first)) = h.actions.first() else {
        panic!("no delivery");
    };
    let first = Rc::clone(first);
    assert_eq!(h.actions.len(), 10);
    for action in &h.actions {
        let Action::Send(_, line) = action else {
            panic!("unexpected {action:?}");
        };
        assert!(Rc::ptr_eq(line, &first), "each recipient shares one copy");
    }
}

#[test]
fn nick_renames_and_tells_the_room() {
    let mut h = Harness::new();
    let (a, b) = (h.member(), h.member());
    let heard = h.send(a, "/nick alice");
    assert_eq!(heard.to(a), ["* you are now alice"]);
    assert_eq!(heard.to(b), ["* guest-1 is now alice"]);
    assert_eq!(h.send(a, "hi").to(b), ["alice: hi"]);
    assert_eq!(h.chat.name(a), Some("alice"));
}

#[test]
fn nick_to_a_taken_name_is_refused() {
    let mut h = Harness::new();
    let (a, b) = (h.member(), h.member());
    h.send(a, "/nick alice");
    let heard = h.send(b, "/nick alice");
    assert_eq!(heard.to(b), ["! name alice is taken"]);
    assert!(heard.to(a).is_empty());
    assert_eq!(h.send(b, "/nick guest-1").to(b), ["* you are now guest-1"]);
    assert_eq!(h.chat.name(b), Some("guest-1"), "a freed name is free");
}

#[test]
fn nick_with_an_invalid_name_is_refused() {
    let mut h = Harness::new();
    let (a, b) = (h.member(), h.member());
    for bad in [
        "/nick",
        "/nick a b",
        "/nick bob!",
        &format!("/nick {}", "x".repeat(33)),
    ] {
        let heard = h.send(a, bad);
        assert_eq!(heard.to(a), ["! invalid name"], "{bad}");
        assert!(heard.to(b).is_empty());
    }
    assert_eq!(h.chat.name(a), Some("guest-1"));
}

#[test]
fn nick_to_ones_own_name_changes_nothing() {
    let mut h = Harness::new();
    let (a, b) = (h.member(), h.member());
    let heard = h.send(a, "/nick guest-1");
    assert_eq!(heard.to(a), ["* you are now guest-1"]);
    assert!(heard.to(b).is_empty());
}

#[test]
fn guest_numbers_skip_names_taken_by_nick() {
    let mut h = Harness::new();
    let a = h.member();
    h.send(a, "/nick guest-2");
    let (b, heard) = h.join();
    assert_eq!(heard.to(b), ["* welcome guest-3, you are in #lobby"]);
}

#[test]
fn me_is_an_action_for_the_others() {
    let mut h = Harness::new();
    let (a, b) = (h.member(), h.member());
    let heard = h.send(a, "/me waves");
    assert!(heard.to(a).is_empty());
    assert_eq!(heard.to(b), ["* guest-1 waves"]);
    assert_eq!(h.send(a, "/me").to(a), ["! usage: /me ACTION"]);
}

#[test]
fn msg_reaches_its_recipient_in_any_room_and_nobody_else() {
    let mut h = Harness::new();
    let (a, b, c) = (h.member(), h.member(), h.member());
    h.send(b, "/nick bob");
    h.send(b, "/join rust");
    let heard = h.send(a, "/msg bob psst, over here");
    assert!(heard.to(a).is_empty());
    assert!(heard.to(c).is_empty());
    assert_eq!(heard.to(b), ["[private] guest-1: psst, over here"]);
}

#[test]
fn msg_to_an_unknown_name_is_an_error() {
    let mut h = Harness::new();
    let (a, b) = (h.member(), h.member());
    let heard = h.send(a, "/msg nobody hello");
    assert_eq!(heard.to(a), ["! no such user nobody"]);
    assert!(heard.to(b).is_empty());
    assert_eq!(h.send(a, "/msg nobody").to(a), ["! usage: /msg NAME TEXT"]);
}

#[test]
fn who_lists_the_room_sorted() {
    let mut h = Harness::new();
    let (a, b, c, d) = (h.member(), h.member(), h.member(), h.member());
    h.send(a, "/nick b");
    h.send(b, "/nick a");
    h.send(d, "/join elsewhere");
    let heard = h.send(c, "/who");
    assert_eq!(heard.to(c), ["* in #lobby: a, b, guest-3"]);
    assert_eq!(heard.recipients(), 1);
}

#[test]
fn join_moves_between_rooms_and_tells_both() {
    let mut h = Harness::new();
    let (a, b, c) = (h.member(), h.member(), h.member());
    h.send(c, "/join rust");
    let heard = h.send(a, "/join rust");
    assert_eq!(heard.to(a), ["* you are in #rust"]);
    assert_eq!(heard.to(b), ["* guest-1 left"]);
    assert_eq!(heard.to(c), ["* guest-1 joined"]);
    assert_eq!(h.chat.room(a), Some("rust"));
    // Lines now reach the new room only.
    let heard = h.send(a, "hi rust");
    assert_eq!(heard.to(c), ["guest-1: hi rust"]);
    assert!(heard.to(b).is_empty());
}

#[test]
fn join_accepts_a_hash_and_checks_the_room_name() {
    let mut h = Harness::new();
    let a = h.member();
    assert_eq!(h.send(a, "/join #rust").to(a), ["* you are in #rust"]);
    assert_eq!(h.send(a, "/join rust").to(a), ["* you are in #rust"]);
    assert_eq!(h.send(a, "/join no way").to(a), ["! invalid room name"]);
    assert_eq!(h.send(a, "/join").to(a), ["! usage: /join ROOM"]);
    assert_eq!(h.chat.room(a), Some("rust"));
}

#[test]
fn rooms_lists_every_room_with_its_count_sorted() {
    let mut h = Harness::new();
    let (a, b, c) = (h.member(), h.member(), h.member());
    h.send(c, "/join rust");
    let heard = h.send(a, "/rooms");
    assert_eq!(heard.to(a), ["* rooms: lobby (2), rust (1)"]);
    assert!(heard.to(b).is_empty());
    // An emptied room is gone.
    h.send(c, "/join lobby");
    assert_eq!(h.send(a, "/rooms").to(a), ["* rooms: lobby (3)"]);
}

#[test]
fn help_lists_the_commands_as_notices() {
    let mut h = Harness::new();
    let (a, b) = (h.member(), h.member());
    let heard = h.send(a, "/help");
    let lines = heard.to(a);
    assert!(lines.len() > 1);
    assert!(lines.iter().all(|l| l.starts_with("* ")), "{lines:?}");
    for command in [
        "/nick", "/me", "/msg", "/who", "/join", "/rooms", "/help", "/quit",
    ] {
        assert!(lines.iter().any(|l| l.contains(command)), "{command}");
    }
    assert!(heard.to(b).is_empty());
}

#[test]
fn quit_says_bye_closes_and_tells_the_room() {
    let mut h = Harness::new();
    let (a, b) = (h.member(), h.member());
    let heard = h.send(a, "/quit");
    assert_eq!(heard.to(a), ["* bye"]);
    assert_eq!(heard.closed, [a]);
    assert_eq!(heard.to(b), ["* guest-1 left"]);
    assert_eq!(h.chat.len(), 1);
    assert_eq!(
        h.send(b, "/msg guest-1 hi").to(b),
        ["! no such user guest-1"]
    );
}

#[test]
fn disconnect_tells_the_room_and_frees_the_name() {
    let mut h = Harness::new();
    let (a, b) = (h.member(), h.member());
    h.send(a, "/nick alice");
    let heard = h.leave(a, Departure::Disconnected);
    assert!(heard.to(a).is_empty());
    assert_eq!(heard.to(b), ["* alice left"]);
    assert!(heard.closed.is_empty(), "the host closes it");
    assert_eq!(h.send(b, "/nick alice").to(b), ["* you are now alice"]);
}

#[test]
fn idle_timeout_tells_the_member_and_the_room() {
    let mut h = Harness::new();
    let (a, b) = (h.member(), h.member());
    let heard = h.leave(a, Departure::Idle);
    assert_eq!(heard.to(a), ["! idle timeout"]);
    assert_eq!(heard.to(b), ["* guest-1 left"]);
}

#[test]
fn unknown_commands_are_named() {
    let mut h = Harness::new();
    let (a, b) = (h.member(), h.member());
    let heard = h.send(a, "/dance wildly");
    assert_eq!(heard.to(a), ["! unknown command /dance"]);
    assert!(heard.to(b).is_empty());
}

#[test]
fn an_over_long_line_is_an_error_naming_the_limit() {
    let mut h = Harness::new();
    let (a, b) = (h.member(), h.member());
    let heard = h.frame(a, Frame::TooLong);
    assert_eq!(heard.to(a), ["! line too long (max 4096 bytes)"]);
    assert!(heard.to(b).is_empty());
}

#[test]
fn invalid_utf8_is_an_error() {
    let mut h = Harness::new();
    let (a, b) = (h.member(), h.member());
    let heard = h.frame(a, Frame::InvalidUtf8);
    assert_eq!(heard.to(a), ["! invalid UTF-8"]);
    assert!(heard.to(b).is_empty());
}

#[test]
fn an_empty_line_says_nothing() {
    let mut h = Harness::new();
    let (a, _b) = (h.member(), h.member());
    assert_eq!(h.send(a, "").recipients(), 0);
}

#[test]
fn shutdown_tells_everyone_and_empties_the_chat() {
    let mut h = Harness::new();
    let (a, b) = (h.member(), h.member());
    h.send(b, "/join rust");
    let everyone = h.chat.all_members();
    h.chat.shut_down(&everyone, &mut h.actions);
    let heard = h.heard();
    assert_eq!(heard.to(a), ["* server shutting down"]);
    assert_eq!(heard.to(b), ["* server shutting down"]);
    assert!(h.chat.is_empty());
    assert_eq!(h.leave(a, Departure::Disconnected).recipients(), 0);
}

#[test]
fn members_that_left_are_ignored_and_ids_reused_cleanly() {
    let mut h = Harness::new();
    let (a, b) = (h.member(), h.member());
    h.leave(a, Departure::Disconnected);
    assert_eq!(h.send(a, "ghost").recipients(), 0);
    let (c, heard) = h.join();
    assert_eq!(heard.to(c), ["* welcome guest-3, you are in #lobby"]);
    assert_eq!(h.send(c, "hi").to(b), ["guest-3: hi"]);
}

#[test]
fn room_membership_survives_many_moves() {
    // Exercises the O(1) removal (swap_remove plus slot fix-up).
    let mut h = Harness::new();
    let members: Vec<_> = (0..20).map(|_| h.member()).collect();
    for (i, &m) in members.iter().enumerate() {
        if i % 3 == 0 {
            h.send(m, "/join odd");
        }
    }
    for &m in members.iter().step_by(2) {
        h.leave(m, Departure::Disconnected);
    }
    let lobby: Vec<_> = members
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 1 && i % 3 != 0)
        .map(|(_, &m)| m)
        .collect();
    let speaker = lobby[0];
    let heard = h.send(speaker, "count");
    assert_eq!(heard.recipients(), lobby.len() - 1);
    for &m in &lobby[1..] {
        assert_eq!(heard.to(m).len(), 1);
    }
    assert_eq!(
        h.send(speaker, "/rooms").to(speaker),
        ["* rooms: lobby (7), odd (3)"]
    );
}

#[test]
fn names_are_unique_whatever_their_case() {
    let mut h = Harness::new();
    let ann = h.member();
    let other = h.member();
    h.send(ann, "/nick ann");
    assert_eq!(
        h.send(other, "/nick ANN").to(other),
        ["! name ANN is taken"]
    );
    // The owner may change the case of its own name.
    assert_eq!(h.send(ann, "/nick Ann").to(ann), ["* you are now Ann"]);
    // And /msg finds it whatever the case it is written in.
    assert_eq!(
        h.send(other, "/msg aNN psst").to(ann),
        ["[private] guest-2: psst"]
    );
}

#[test]
fn who_sorts_names_as_people_read_them() {
    let mut h = Harness::new();
    let a = h.member();
    let b = h.member();
    let c = h.member();
    h.send(a, "/nick Zed");
    h.send(b, "/nick bob");
    h.send(c, "/nick alice");
    assert_eq!(h.send(c, "/who").to(c), ["* in #lobby: alice, bob, Zed"]);
}

#[test]
fn control_characters_do_not_reach_other_terminals() {
    let mut h = Harness::new();
    let sender = h.member();
    let reader = h.member();
    let heard = h.send(sender, "\u{1b}[2Jhi\u{7}\tthere");
    assert_eq!(heard.to(reader), ["guest-1: \u{FFFD}[2Jhi\u{FFFD}\tthere"]);
}

#[test]
fn commands_answer_their_sender_with_a_structured_reply() {
    let mut h = Harness::new();
    let (a, b) = (h.member(), h.member());
    h.chat.command(b, Command::Nick("bob"), &mut h.actions);
    h.heard();
    assert_eq!(
        h.chat.command(a, Command::Nick("alice"), &mut h.actions),
        Reply::Named("alice".into())
    );
    assert_eq!(h.heard().to(b), ["* guest-1 is now alice"]);
    assert_eq!(
        h.chat.command(a, Command::Nick("BOB"), &mut h.actions),
        Reply::Refused("name BOB is taken".into())
    );
    assert_eq!(
        h.chat.command(a, Command::Who, &mut h.actions),
        Reply::Who {
            room: "lobby".into(),
            members: vec!["alice".into(), "bob".into()]
        }
    );
    assert_eq!(
        h.chat.command(a, Command::Say("hi"), &mut h.actions),
        Reply::Ok
    );
    assert_eq!(h.heard().to(b), ["alice: hi"]);
    assert_eq!(
        h.chat.command(
            a,
            Command::Msg {
                to: "nobody",
                text: "x"
            },
            &mut h.actions
        ),
        Reply::Refused("no such user nobody".into())
    );
    assert!(
        h.heard().to(a).is_empty(),
        "the reply is returned, not sent"
    );
}

#[test]
fn an_action_cannot_pass_for_a_departure_or_a_rename() {
    let mut h = Harness::new();
    let (a, b) = (h.member(), h.member());
    let acted = h.send(a, "/me left").to(b).concat();
    let acted_rename = h.send(a, "/me is now admin").to(b).concat();
    let departed = h.leave(a, Departure::Disconnected).to(b).concat();
    assert_eq!(acted, "* guest-1 *left*");
    assert_eq!(acted_rename, "* guest-1 *is now admin*");
    assert_eq!(departed, "* guest-1 left");
    // The rule a reader (or a script) can use: a `* ` line that ends
    // with `*` is an action; no notice does. Every kind of notice, as its
    // subject and as the room hear it:
    let mut notices = Vec::new();
    let mut keep = |heard: Heard| {
        notices.extend(heard.lines.into_values().flatten());
    };
    let (c, heard) = h.join();
    keep(heard);
    for command in [
        "/help",
        "/who",
        "/rooms",
        "/nick server",
        "/join Rust",
        "/join lobby",
        "/quit",
    ] {
        keep(h.send(c, command));
    }
    let d = h.member();
    keep(h.leave(d, Departure::Idle));
    h.member();
    let everyone = h.chat.all_members();
    h.chat.shut_down(&everyone, &mut h.actions);
    keep(h.heard());
    assert!(notices.len() > 15, "{notices:?}");
    for notice in &notices {
        assert!(!notice.ends_with('*'), "{notice:?} would read as an action");
    }
}

#[test]
fn rooms_ignore_case_and_keep_their_first_spelling() {
    let mut h = Harness::new();
    let (a, b, c) = (h.member(), h.member(), h.member());
    assert_eq!(h.send(a, "/join Rust").to(a), ["* you are in #Rust"]);
    let heard = h.send(b, "/join rust");
    assert_eq!(heard.to(b), ["* you are in #Rust"]);
    assert_eq!(heard.to(a), ["* guest-2 joined"], "one room, not two");
    assert_eq!(h.chat.room(b), Some("Rust"));
    // Joining the room one is in, in another case, moves nobody.
    let heard = h.send(a, "/join RUST");
    assert_eq!(heard.to(a), ["* you are in #Rust"]);
    assert_eq!(heard.recipients(), 1);
    assert_eq!(h.send(b, "/who").to(b), ["* in #Rust: guest-1, guest-2"]);
    h.send(c, "/join LOBBY");
    assert_eq!(
        h.send(c, "/rooms").to(c),
        ["* rooms: lobby (1), Rust (2)"],
        "sorted as read, whatever the case"
    );
    // Once empty it is gone, and the next to create it spells it anew.
    h.send(a, "/join lobby");
    h.send(b, "/join lobby");
    assert_eq!(h.send(a, "/join rUST").to(a), ["* you are in #rUST"]);
}

#[test]
fn bidi_overrides_and_separators_do_not_reach_other_screens() {
    let mut h = Harness::new();
    let sender = h.member();
    let reader = h.member();
    for hidden in [
        '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
        '\u{2068}', '\u{2069}', '\u{2028}', '\u{2029}',
    ] {
        let heard = h.send(sender, &format!("a{hidden}b"));
        assert_eq!(
            heard.to(reader),
            ["guest-1: a\u{FFFD}b"],
            "U+{:04X}",
            hidden as u32
        );
    }
    // In every kind of line: actions and private messages too.
    let heard = h.send(sender, "/me \u{202E}sevaw");
    assert_eq!(heard.to(reader), ["* guest-1 \u{FFFD}sevaw"]);
    let heard = h.send(sender, "/msg guest-2 x\u{2028}* guest-1 left");
    assert_eq!(
        heard.to(reader),
        ["[private] guest-1: x\u{FFFD}* guest-1 left"]
    );
    // Other marks that only shape text, like the zero-width joiner of
    // emoji sequences, are left alone.
    let heard = h.send(
        sender,
        "\u{1F469}\u{200D}\u{1F4BB} \u{05E9}\u{05DC}\u{05D5}\u{05DD}",
    );
    assert_eq!(
        heard.to(reader),
        ["guest-1: \u{1F469}\u{200D}\u{1F4BB} \u{05E9}\u{05DC}\u{05D5}\u{05DD}"]
    );
}

#[test]
fn a_garbled_line_is_dropped_and_its_sender_told_why() {
    let mut h = Harness::new();
    let (a, b) = (h.member(), h.member());
    let heard = h.frame(a, Frame::Garbled);
    assert_eq!(heard.to(a), [format!("! {GARBLED}")]);
    assert!(heard.to(b).is_empty());
    h.leave(a, Departure::Disconnected);
    let heard = h.frame(a, Frame::Garbled);
    assert_eq!(heard.recipients(), 0, "a member gone is told nothing");
}
