//! Inputs the `chat` fuzz target (`fuzz/fuzz_targets/chat.rs`) found to
//! break a rule of the chat, each kept as a test named after what it
//! caught, fed as the fuzzer fed it: lines through `ChatState::input`.

use super::*;

/// Sends `line` from `id`; returns the line each member was sent (as a
/// TCP member reads it, `\n` included), in order.
fn say(chat: &mut ChatState, id: MemberId, line: &str) -> Vec<(MemberId, String)> {
    let mut out = Vec::new();
    chat.input(id, Frame::Line(line), &mut out);
    out.into_iter()
        .filter_map(|action| match action {
            Action::Send(to, message) => Some((to, format!("{}\n", message.line()))),
            Action::Close(_) => None,
        })
        .collect()
}

/// The fuzzer's input, reduced: two members, `/join a` and `/join A`.
/// Rooms were keyed by the name as typed, so there were two rooms that
/// the chat's rules say are one (fixed at the same time on another
/// branch, with `rooms_ignore_case_and_keep_their_first_spelling`; this
/// is the input the fuzzer found).
#[test]
fn rooms_differing_only_in_case_are_one_room() {
    let mut chat = ChatState::new(4096);
    let mut out = Vec::new();
    let (first, second) = (chat.join(&mut out), chat.join(&mut out));
    say(&mut chat, first, "/join a");
    let heard = say(&mut chat, second, "/join A");
    // Shown as it was spelled when it was created, and the member already
    // there hears the newcomer.
    assert!(heard.contains(&(second, "* you are in #a\n".to_string())));
    assert!(heard.contains(&(first, "* guest-2 joined\n".to_string())));
    assert_eq!(chat.room(first), chat.room(second));
    assert_eq!(chat.room(second), Some("a"));
    let heard = say(&mut chat, second, "hello");
    assert_eq!(heard, [(first, "guest-2: hello\n".to_string())]);
    assert_eq!(
        say(&mut chat, first, "/rooms"),
        [(first, "* rooms: a (2)\n".to_string())]
    );
    // Joining the room one is in, in another case, moves nobody.
    assert_eq!(
        say(&mut chat, first, "/join A"),
        [(first, "* you are in #a\n".to_string())]
    );
    // The room goes when its last member leaves, whatever the case.
    chat.leave(first, Departure::Disconnected, &mut out);
    chat.leave(second, Departure::Disconnected, &mut out);
    let third = chat.join(&mut out);
    say(&mut chat, third, "/join A");
    assert_eq!(chat.room(third), Some("A"));
}
