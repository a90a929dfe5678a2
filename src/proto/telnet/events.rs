//! The filter's parser: one input slice read into [`Event`]s, a byte at a
//! time where it must and a run of data at a time where it can, with its
//! state kept in the [`TelnetFilter`] between slices.

use super::{
    Event, Key, Parse, TelnetFilter, Verb, DO, DONT, IAC, LOWEST_COMMAND, SB, SE, WILL, WONT,
};

/// The events of one input slice; see [`TelnetFilter::events`].
#[derive(Debug)]
pub struct Events<'f, 'a> {
    filter: &'f mut TelnetFilter,
    input: &'a [u8],
    /// Bytes of `input` consumed so far.
    pos: usize,
}

impl<'a> Iterator for Events<'_, 'a> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        loop {
            // A reply decided while reading what came before goes first.
            if let Some(reply) = self.filter.queued.take() {
                return Some(Event::Reply(reply));
            }
            let &byte = self.input.get(self.pos)?;
            let rest = &self.input[self.pos..];
            match self.filter.parse {
                Parse::Data => {
                    // A run of data ends at an IAC, or just after a CR.
                    match rest.iter().position(|&b| b == IAC || b == b'\r') {
                        None => {
                            self.pos = self.input.len();
                            return Some(Event::Data(rest));
                        }
                        Some(i) if rest[i] == b'\r' => {
                            self.pos += i + 1;
                            self.filter.parse = Parse::AfterCr;
                            return Some(Event::Data(&rest[..=i]));
                        }
                        Some(i) => {
                            self.pos += i + 1;
                            self.filter.parse = Parse::Command;
                            if i > 0 {
                                return Some(Event::Data(&rest[..i]));
                            }
                        }
                    }
                }
                Parse::AfterCr => {
                    self.filter.parse = Parse::Data;
                    if byte == 0 {
                        self.pos += 1;
                    }
                }
                Parse::Command => {
                    self.filter.parse = Parse::Data;
                    if byte < LOWEST_COMMAND {
                        // Not a command: the 255 was data, and this byte
                        // is read again as data.
                        return Some(Event::Data(&[IAC]));
                    }
                    self.pos += 1;
                    if let Some(event) = self.command(byte) {
                        return Some(event);
                    }
                }
                Parse::Option(verb) => {
                    self.pos += 1;
                    self.filter.parse = Parse::Data;
                    if let Some(reply) = self.filter.negotiate(verb, byte) {
                        return Some(Event::Reply(reply));
                    }
                }
                Parse::Subnegotiation => match rest.iter().position(|&b| b == IAC) {
                    Some(i) => {
                        self.pos += i + 1;
                        self.filter.parse = Parse::SubnegotiationIac;
                    }
                    None => self.pos = self.input.len(),
                },
                Parse::SubnegotiationIac => match byte {
                    SE => {
                        self.pos += 1;
                        self.filter.parse = Parse::Data;
                    }
                    IAC => {
                        // An escaped 255 inside the parameters.
                        self.pos += 1;
                        self.filter.parse = Parse::Subnegotiation;
                    }
                    // `IAC SE` left out: the subnegotiation ends here and
                    // this byte is a command, as BSD telnet reads it.
                    _ => self.filter.parse = Parse::Command,
                },
            }
        }
    }
}

impl<'f, 'a> Events<'f, 'a> {
    /// The events of `input`, read by `filter`.
    pub(super) fn new(filter: &'f mut TelnetFilter, input: &'a [u8]) -> Events<'f, 'a> {
        Events {
            filter,
            input,
            pos: 0,
        }
    }
}

impl Events<'_, '_> {
    /// Bytes of the input consumed so far: all those the events handed
    /// out so far came from.
    pub fn consumed(&self) -> usize {
        self.pos
    }

    /// Puts the filter back in plain data, for a reader that stops inside
    /// a run of data and leaves the rest of it to be read again (the end of
    /// the run may have left it after a `CR`).
    pub(super) fn resume_in_data(&mut self) {
        self.filter.parse = Parse::Data;
    }

    /// The command byte after an `IAC` (236 or more): its event, if any.
    fn command(&mut self, byte: u8) -> Option<Event<'static>> {
        if byte == IAC {
            // IAC IAC: the data byte 255, and no sign of Telnet.
            return Some(Event::Data(&[IAC]));
        }
        self.filter.seen_command();
        let verb = match byte {
            WILL => Verb::Will,
            WONT => Verb::Wont,
            DO => Verb::Do,
            DONT => Verb::Dont,
            SB => {
                self.filter.parse = Parse::Subnegotiation;
                return None;
            }
            _ => return Key::from_byte(byte).map(Event::Key),
        };
        self.filter.parse = Parse::Option(verb);
        None
    }
}
