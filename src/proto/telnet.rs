//! Telnet (RFC 854) as a filter in front of a line protocol: bytes in,
//! data and the replies to send out.
//!
//! A Telnet client is a terminal program that speaks a small protocol
//! inside the byte stream. The byte 255, IAC ("interpret as command"),
//! starts a command; every other byte is data:
//!
//! ```text
//!  IAC IAC                 the data byte 255
//!  IAC WILL|WONT|DO|DONT X negotiate option X: "I will / won't", "please do / don't"
//!  IAC SB X ... IAC SE     option X's parameters (a subnegotiation)
//!  IAC IP, IAC BRK, ...    a key the user pressed: interrupt, break, ...
//! ```
//!
//! ## Why a line server needs it
//!
//! Debian's `telnet`, pointed at a port other than 23, starts by sending
//! nothing but what is typed, in its line mode (the terminal edits the line,
//! Enter sends it). In that mode it checks every typed byte *with its 8th
//! bit stripped*, because nobody has told it 8-bit data is welcome, against
//! its special keys. The `9C` in `✓` (`E2 9C 93`) strips to `1C`, Ctrl-\,
//! "quit": the client sends `E2 IAC BRK IAC DO TIMING-MARK 93`, and then
//! hides everything the server sends until the server answers the
//! TIMING-MARK (RFC 860). Chinese text is full of such bytes.
//!
//! So this filter:
//!
//! * removes commands from the data: `IAC IAC` is a literal 255, and a
//!   subnegotiation is skipped without being stored (whatever a peer
//!   sends, the filter holds a few bytes of state);
//! * turns `CR NUL` into `CR`, the Telnet way of sending a carriage return
//!   with nothing after it;
//! * answers `DO TIMING-MARK` with `WILL TIMING-MARK`: "everything before
//!   the mark is done", which is what unfreezes the client's output;
//! * once the peer has shown it is a Telnet client (it sent a command),
//!   asks it to send 8-bit data: `DO BINARY` (RFC 856). A client in binary
//!   mode strips nothing, so every UTF-8 byte arrives as typed. Every other
//!   option is refused, and the filter offers none, so the client stays in
//!   its line mode: the user's own terminal edits the line (whole UTF-8
//!   characters, where the terminal is set to `iutf8`, as Linux terminals
//!   in a UTF-8 locale are) and the server needs no echo or line editor;
//! * reports whether the peer is a Telnet client ([`is_telnet`]).
//!
//! Detection is by what the peer sends, never by probing: a client that
//! sends no Telnet command never receives a Telnet byte. A 255 followed
//! by a byte that is no command (below 236) is taken as two data bytes,
//! not as a sign of Telnet.
//!
//! ## Why not character mode
//!
//! MUD and BBS servers put the client into character mode (`WILL
//! SUPPRESS-GO-AHEAD`, `WILL ECHO`) and edit lines themselves. Tried
//! against the real client, that is not enough: it still strips the 8th
//! bit before comparing with its escape key, so the `9D` in `丝`
//! (`E4 B8 9D`) reads as Ctrl-], and the user lands at the `telnet>`
//! prompt. With `BINARY` added it works, but then Enter arrives as a lone
//! `CR`, and the server must echo, edit lines and end its own lines with
//! `CR LF`. `BINARY` alone is the smaller change, and it is enough.
//!
//! ## Not answering an answer
//!
//! Two programs that each acknowledged every acknowledgement would loop
//! forever, so RFC 854 says: a party never announces a state it is
//! already in, and never acknowledges a request to enter that state. Here
//! the only state that can change is whether the peer sends binary;
//! every other option stays off, so a request to turn one on
//! is refused and a request to turn one off is already satisfied.
//!
//! This file holds the vocabulary and the negotiation; `telnet/events.rs`
//! is the parser, and `telnet/lines.rs` ([`TelnetLines`]) puts the filter
//! in front of the line framer, which is what the chat uses.
//!
//! [`is_telnet`]: TelnetFilter::is_telnet

mod events;
mod lines;
#[cfg(test)]
mod tests;

use std::fmt;

pub use events::Events;
pub use lines::{Item, Stopped, TelnetLines};

/// Interpret As Command: starts every Telnet command (RFC 854).
pub const IAC: u8 = 255;
/// "Please don't use option X" (or "stop using it").
const DONT: u8 = 254;
/// "Please use option X."
const DO: u8 = 253;
/// "I won't use option X" (or "I stop using it").
const WONT: u8 = 252;
/// "I will use option X."
const WILL: u8 = 251;
/// Subnegotiation begins: option X's parameters follow, up to `IAC SE`.
const SB: u8 = 250;
/// Subnegotiation ends.
const SE: u8 = 240;
/// The lowest command byte: EOF, from the LINEMODE option (RFC 1184). An
/// `IAC` followed by a lower byte is not a command at all.
const LOWEST_COMMAND: u8 = 236;

/// Option: binary transmission, 8-bit data with nothing stripped (RFC 856).
pub const BINARY: u8 = 0;
/// Option: timing mark, "tell me when you have processed everything I
/// sent before this" (RFC 860).
pub const TIMING_MARK: u8 = 6;

/// The four negotiation verbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// `WILL`: the sender will use the option.
    Will,
    /// `WONT`: the sender will not (or no longer) use it.
    Wont,
    /// `DO`: the sender asks the receiver to use it.
    Do,
    /// `DONT`: the sender asks the receiver not to (or no longer).
    Dont,
}

impl Verb {
    /// The verb's byte on the wire.
    fn byte(self) -> u8 {
        match self {
            Verb::Will => WILL,
            Verb::Wont => WONT,
            Verb::Do => DO,
            Verb::Dont => DONT,
        }
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verb::Will => "WILL",
            Verb::Wont => "WONT",
            Verb::Do => "DO",
            Verb::Dont => "DONT",
        })
    }
}

/// A negotiation command for the host to send back: `IAC verb option`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// What is said about the option.
    pub verb: Verb,
    /// The option's number.
    pub option: u8,
}

impl Reply {
    /// The three bytes on the wire.
    pub fn bytes(self) -> [u8; 3] {
        [IAC, self.verb.byte(), self.option]
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.option {
            BINARY => write!(f, "{} BINARY", self.verb),
            TIMING_MARK => write!(f, "{} TIMING-MARK", self.verb),
            other => write!(f, "{} option {other}", self.verb),
        }
    }
}

/// A command that stands for a key the user pressed: the client sent it in
/// place of the key's byte (RFC 854, and RFC 1184 for the last three).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// `BRK`: break (Debian's telnet sends it for Ctrl-\ in line mode).
    Break,
    /// `IP`: interrupt process (Ctrl-C).
    InterruptProcess,
    /// `AO`: abort output (Ctrl-O).
    AbortOutput,
    /// `AYT`: are you there (Ctrl-T on some systems).
    AreYouThere,
    /// `EC`: erase the last character.
    EraseCharacter,
    /// `EL`: erase the line.
    EraseLine,
    /// `EOF`: end of file (Ctrl-D).
    EndOfFile,
    /// `SUSP`: suspend (Ctrl-Z).
    Suspend,
    /// `ABORT`: abort (Ctrl-\ in the LINEMODE option).
    Abort,
}

impl Key {
    /// The key a command byte stands for; `None` for the commands that
    /// stand for no key (`NOP`, `DM`, `GA`, `EOR`, a stray `SE`) and for
    /// the negotiation commands.
    fn from_byte(byte: u8) -> Option<Key> {
        Some(match byte {
            243 => Key::Break,
            244 => Key::InterruptProcess,
            245 => Key::AbortOutput,
            246 => Key::AreYouThere,
            247 => Key::EraseCharacter,
            248 => Key::EraseLine,
            236 => Key::EndOfFile,
            237 => Key::Suspend,
            238 => Key::Abort,
            _ => return None,
        })
    }
}

/// What the filter finds in the peer's bytes, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// Bytes for the application, a slice of the input (or a lone 255).
    Data(&'a [u8]),
    /// The user pressed a key the client sent as a command.
    Key(Key),
    /// A negotiation reply to send to the peer now.
    Reply(Reply),
}

/// Whether the peer sends 8-bit data (its side of the BINARY option).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Binary {
    /// It does not; nobody asked.
    Off,
    /// We sent `DO BINARY` and wait for its answer.
    Asked,
    /// It does.
    On,
}

/// Where the parser is inside the Telnet stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parse {
    /// Plain data.
    Data,
    /// Data, just after a `CR`: a `NUL` here is dropped.
    AfterCr,
    /// After an `IAC`: a command byte comes next.
    Command,
    /// After `IAC WILL` (and the others): the option byte comes next.
    Option(Verb),
    /// Inside `IAC SB ... IAC SE`.
    Subnegotiation,
    /// Inside a subnegotiation, after an `IAC`.
    SubnegotiationIac,
}

/// One connection's Telnet filter. It consumes every byte it is given and
/// remembers where it stopped, so a command split between two reads is
/// understood all the same.
#[derive(Debug, Clone)]
pub struct TelnetFilter {
    /// Where the parser is.
    parse: Parse,
    /// Whether the peer has sent a Telnet command.
    telnet: bool,
    /// The peer's side of the BINARY option.
    binary: Binary,
    /// A reply decided but not yet handed out: the `DO BINARY` asked for
    /// when the peer shows itself, decided while its command is read.
    queued: Option<Reply>,
}

impl Default for TelnetFilter {
    fn default() -> TelnetFilter {
        TelnetFilter::new()
    }
}

impl TelnetFilter {
    /// A filter for a new connection, not yet known to be Telnet.
    pub fn new() -> TelnetFilter {
        TelnetFilter {
            parse: Parse::Data,
            telnet: false,
            binary: Binary::Off,
            queued: None,
        }
    }

    /// Whether the peer has shown itself to be a Telnet client.
    pub fn is_telnet(&self) -> bool {
        self.telnet
    }

    /// Whether the peer agreed to send 8-bit data (`WILL BINARY`).
    pub fn sends_binary(&self) -> bool {
        self.binary == Binary::On
    }

    /// The events in `input`, for a `for` loop. Every byte is consumed.
    pub fn events<'f, 'a>(&'f mut self, input: &'a [u8]) -> Events<'f, 'a> {
        Events::new(self, input)
    }

    /// The peer sent a command: the first one shows it is a Telnet client,
    /// and it is asked for 8-bit data.
    fn seen_command(&mut self) {
        if !self.telnet {
            self.telnet = true;
            if self.binary == Binary::Off {
                self.binary = Binary::Asked;
                self.queued = Some(Reply {
                    verb: Verb::Do,
                    option: BINARY,
                });
            }
        }
    }

    /// `IAC verb option` arrived: the reply, if one is due.
    fn negotiate(&mut self, verb: Verb, option: u8) -> Option<Reply> {
        let reply = |verb| Some(Reply { verb, option });
        match (verb, option) {
            // Not a state: always answered, at once (RFC 860).
            (Verb::Do, TIMING_MARK) => reply(Verb::Will),
            // We turn on nothing of ours; a request to turn off is
            // satisfied already.
            (Verb::Do, _) => reply(Verb::Wont),
            (Verb::Dont, _) => None,
            (Verb::Will, BINARY) => match self.binary {
                Binary::Off => {
                    self.binary = Binary::On;
                    reply(Verb::Do)
                }
                // The answer to our request, or a repeat: not answered.
                Binary::Asked | Binary::On => {
                    self.binary = Binary::On;
                    None
                }
            },
            (Verb::Will, _) => reply(Verb::Dont),
            (Verb::Wont, BINARY) => match self.binary {
                Binary::On => {
                    self.binary = Binary::Off;
                    reply(Verb::Dont)
                }
                // A refusal of our request, or a repeat.
                Binary::Asked | Binary::Off => {
                    self.binary = Binary::Off;
                    None
                }
            },
            (Verb::Wont, _) => None,
        }
    }
}
