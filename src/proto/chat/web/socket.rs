//! Socket.IO on an Engine.IO session: a chat member whose commands arrive
//! as events (`42["nick","alice"]`) and whose answers leave as
//! acknowledgements (`43<id>[{"ok":true,"name":"alice"}]`) or events.
//!
//! Each event becomes the [`Command`] a TCP member would have typed, so
//! the chat itself (`state.rs`) cannot tell them apart; only the reply is
//! rendered differently. Events on namespace `/` only: another namespace
//! gets `CONNECT_ERROR`. Binary attachments are not supported: the member
//! is disconnected, and a warning logged.

use log::{debug, warn};
use serde_json::{json, Value};

use super::super::command::Command;
use super::super::hub::{Hub, Route};
use super::super::message::{Message, Reply};
use super::super::render;
use super::super::state::Departure;
use super::engine::{ChatIo, SessionId, Sessions};
use crate::proto::web::socketio::{self, Packet, PacketError, MAIN_NAMESPACE};

/// One Socket.IO packet (the data of an Engine.IO message) from session
/// `id`'s client. `max_line` bounds the text of one event, as `--max-line`
/// bounds a TCP member's line.
pub fn receive(
    hub: &mut Hub,
    io: &mut ChatIo,
    sessions: &mut Sessions,
    id: SessionId,
    data: &str,
    max_line: usize,
) {
    let route = Route::SocketIo(id);
    let member = sessions.get(id).and_then(|s| s.member);
    match socketio::decode(data) {
        Ok(Packet::Connect { namespace, .. }) if namespace == MAIN_NAMESPACE => {
            if member.is_some() {
                return;
            }
            let mut reply = Vec::new();
            let socket_id = sessions.get(id).map(|s| format!("{}s", s.sid));
            socketio::encode_connect_ok(&mut reply, &socket_id.unwrap_or_default());
            sessions.send_packet(io, id, &reply);
            let member = hub.join(io, sessions, route);
            if let Some(session) = sessions.get_mut(id) {
                session.member = Some(member);
            }
        }
        Ok(Packet::Connect { namespace, .. }) => {
            let mut reply = Vec::new();
            socketio::encode_connect_error(&mut reply, namespace, socketio::INVALID_NAMESPACE);
            sessions.send_packet(io, id, &reply);
        }
        Ok(Packet::Disconnect { .. }) => {
            if let Some(member) = member {
                hub.leave(io, sessions, member, route, Departure::Disconnected);
            }
            if let Some(session) = sessions.get_mut(id) {
                session.member = None;
            }
        }
        Ok(Packet::Event {
            namespace,
            ack,
            name,
            args,
        }) if namespace == MAIN_NAMESPACE => {
            let Some(member) = member else {
                return debug!("event {name:?} before connect: ignored");
            };
            event(hub, io, sessions, (id, member), &name, &args, ack, max_line);
        }
        Ok(Packet::Event { .. } | Packet::Ack { .. } | Packet::ConnectError { .. }) => {}
        Err(PacketError::Binary) => {
            warn!("{}", super::BINARY_REFUSED);
            sessions.end(io, id, "binary attachment");
        }
        Err(e) => {
            debug!("malformed Socket.IO packet: {e}");
            sessions.end(io, id, "malformed packet");
        }
    }
}

/// One event of a connected member: carried out, answered by ack or by
/// events.
#[allow(clippy::too_many_arguments)]
fn event(
    hub: &mut Hub,
    io: &mut ChatIo,
    sessions: &mut Sessions,
    (id, member): (SessionId, super::super::state::MemberId),
    name: &str,
    args: &[Value],
    ack: Option<u64>,
    max_line: usize,
) {
    let route = Route::SocketIo(id);
    let text = args.first().and_then(Value::as_str).unwrap_or("");
    if text.len() > max_line {
        let reply = Reply::Refused(format!("line too long (max {max_line} bytes)"));
        return answer(io, sessions, id, &reply, ack);
    }
    let (command, as_events) = match (name, args.first()) {
        ("message", Some(Value::String(_))) => (Command::Say(text), false),
        ("nick", Some(Value::String(_))) => (Command::Nick(text), false),
        ("join", Some(Value::String(_))) => (Command::Join(text.trim_start_matches('#')), false),
        ("me", Some(Value::String(_))) => (Command::Me(text), false),
        ("msg", Some(Value::Object(fields))) => {
            let field = |key| fields.get(key).and_then(Value::as_str).unwrap_or("");
            (
                Command::Msg {
                    to: field("to"),
                    text: field("text"),
                },
                false,
            )
        }
        ("who", _) => (Command::Who, false),
        ("rooms", _) => (Command::Rooms, false),
        ("line", Some(Value::String(_))) => (Command::parse(text), true),
        _ => {
            let reply = Reply::Refused(format!("unknown event {name:?} or bad arguments"));
            return answer(io, sessions, id, &reply, ack);
        }
    };
    let reply = hub.command(io, sessions, member, route, command);
    if as_events {
        // A typed line answers as a terminal would, in events; the ack
        // only says whether it went through.
        send_events(io, sessions, id, &reply.messages());
        if let Some(ack) = ack {
            let ok = !matches!(reply, Reply::Refused(_));
            send_ack(io, sessions, id, ack, &json!({ "ok": ok }));
        }
    } else {
        answer(io, sessions, id, &reply, ack);
    }
    if reply == Reply::Bye {
        let mut bye = Vec::new();
        socketio::encode_disconnect(&mut bye);
        sessions.send_packet(io, id, &bye);
        sessions.end(io, id, "quit");
    }
}

/// The reply as an acknowledgement if the client asked for one, as events
/// otherwise.
fn answer(
    io: &mut ChatIo,
    sessions: &mut Sessions,
    id: SessionId,
    reply: &Reply,
    ack: Option<u64>,
) {
    match ack {
        Some(ack) => send_ack(io, sessions, id, ack, &ack_data(reply)),
        None => send_events(io, sessions, id, &reply.messages()),
    }
}

fn send_ack(io: &mut ChatIo, sessions: &mut Sessions, id: SessionId, ack: u64, data: &Value) {
    let mut packet = Vec::new();
    socketio::encode_ack(&mut packet, ack, data);
    sessions.send_packet(io, id, &packet);
}

fn send_events(io: &mut ChatIo, sessions: &mut Sessions, id: SessionId, messages: &[Message]) {
    for message in messages {
        let mut packet = Vec::new();
        socketio::encode_server_event(&mut packet, &render::event(message));
        sessions.send_packet(io, id, &packet);
    }
}

/// A reply as the data of an acknowledgement.
pub fn ack_data(reply: &Reply) -> Value {
    match reply {
        Reply::Silent | Reply::Ok | Reply::Bye => json!({ "ok": true }),
        Reply::Named(name) => json!({ "ok": true, "name": name }),
        Reply::Entered(room) => json!({ "ok": true, "room": room }),
        Reply::Who { room, members } => json!({ "room": room, "members": members }),
        Reply::Rooms(rooms) => {
            let rooms: Vec<Value> = rooms
                .iter()
                .map(|(name, members)| json!({ "name": name, "members": members }))
                .collect();
            json!({ "rooms": rooms })
        }
        Reply::Help => {
            json!({ "ok": true, "help": reply.messages().iter().map(Message::line).collect::<Vec<_>>() })
        }
        Reply::Refused(error) => json!({ "ok": false, "error": error }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_become_the_acks_of_the_table() {
        assert_eq!(ack_data(&Reply::Ok).to_string(), r#"{"ok":true}"#);
        assert_eq!(
            ack_data(&Reply::Named("alice".into())).to_string(),
            r#"{"name":"alice","ok":true}"#
        );
        assert_eq!(
            ack_data(&Reply::Refused("name alice is taken".into())).to_string(),
            r#"{"error":"name alice is taken","ok":false}"#
        );
        let who = Reply::Who {
            room: "lobby".into(),
            members: vec!["a".into(), "b".into()],
        };
        assert_eq!(ack_data(&who)["members"], json!(["a", "b"]));
        let rooms = ack_data(&Reply::Rooms(vec![("lobby".into(), 2)]));
        assert_eq!(rooms["rooms"][0]["members"], json!(2));
    }
}
