//! One chat [`Message`] in each form a transport sends it, each made once.
//!
//! A room's fan-out is a run of deliveries of one message. The first
//! member of each kind asks for its form, it is built then, and every
//! other member of that kind gets the same shared bytes: a TCP member's
//! line, a `/ws` member's text frame around that line, a Socket.IO
//! member's `42["message",{...}]` packet (polling) or that packet in a
//! text frame (WebSocket). A server-to-client frame is never masked, so
//! one framed copy serves every WebSocket member of the room.

use std::rc::Rc;

use super::message::Message;
use crate::proto::web::frame;
use crate::proto::web::socketio::{self, ServerEvent};

/// The wire forms of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `alice: hi\n`, for TCP members.
    Line,
    /// The line without its `\n`, in a WebSocket text frame (`/ws`).
    LineFrame,
    /// `42["message",{"from":"alice","text":"hi"}]`, an Engine.IO
    /// message for a polling body.
    Packet,
    /// That packet in a WebSocket text frame.
    PacketFrame,
}

const FORMS: usize = 4;

/// Each form of one message, once built.
type Built = [Option<Rc<[u8]>>; FORMS];

/// The forms of the last message asked for.
#[derive(Debug, Default)]
pub struct Renderer {
    /// The message, and each form once built.
    last: Option<(Rc<Message>, Built)>,
}

impl Renderer {
    /// `message` in `form`: built on the first request, shared after.
    pub fn get(&mut self, message: &Rc<Message>, form: Form) -> Rc<[u8]> {
        let same = matches!(&self.last, Some((last, _)) if Rc::ptr_eq(last, message));
        if !same {
            self.last = Some((Rc::clone(message), Default::default()));
        }
        let Some((_, forms)) = self.last.as_mut() else {
            return Rc::from(build(message, form));
        };
        Rc::clone(forms[form as usize].get_or_insert_with(|| Rc::from(build(message, form))))
    }

    /// Lets go of the last message (its memory, once every queue is done
    /// with it).
    pub fn forget(&mut self) {
        self.last = None;
    }
}

/// `message` as a Socket.IO event.
pub fn event(message: &Message) -> ServerEvent<'_> {
    match message {
        Message::Chat { from, text } => ServerEvent::Message { from, text },
        Message::Private { from, text } => ServerEvent::Private { from, text },
        Message::Notice(text) => ServerEvent::Notice { text },
        Message::Error(text) => ServerEvent::Error { text },
    }
}

/// Builds one form.
fn build(message: &Message, form: Form) -> Vec<u8> {
    let mut out = Vec::new();
    match form {
        Form::Line => message.write_line(&mut out),
        Form::LineFrame => frame::encode_text(&mut out, &message.line()),
        Form::Packet => socketio::encode_server_event(&mut out, &event(message)),
        Form::PacketFrame => out = socketio::websocket_event(&event(message)),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_form_is_built_once_per_message() {
        let mut renderer = Renderer::default();
        let message = Rc::new(Message::Chat {
            from: "ann".into(),
            text: "hi".into(),
        });
        let a = renderer.get(&message, Form::PacketFrame);
        let b = renderer.get(&message, Form::PacketFrame);
        assert!(Rc::ptr_eq(&a, &b), "one framed copy for the room");
        assert_eq!(&*renderer.get(&message, Form::Line), b"ann: hi\n");
        assert_eq!(
            &*renderer.get(&message, Form::Packet),
            br#"42["message",{"from":"ann","text":"hi"}]"#
        );
        // A text frame: FIN + text opcode, unmasked length, then the line.
        assert_eq!(
            &*renderer.get(&message, Form::LineFrame),
            b"\x81\x07ann: hi"
        );
        let other = Rc::new(Message::Notice("x".into()));
        assert!(!Rc::ptr_eq(&renderer.get(&other, Form::PacketFrame), &a));
    }
}
