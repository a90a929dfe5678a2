//! Tokens: how an event from `poll` finds its way back to its owner.
//!
//! `mio` hands every readiness event back with the [`Token`] the source was
//! registered with, a plain `usize`. Connections live in a slab ([`ConnMap`](super::ConnMap)), so the
//! natural token is the slab key: finding the connection is an index.
//!
//! But a slab key is reused as soon as its connection is removed. Picture one
//! `poll` that returns two events: the first closes connection 4, the second
//! is the listener, which accepts a new connection into the now-free slot 4.
//! Had that batch held a third, stale event for the *old* connection 4, it
//! would be delivered to the new one. So a token carries a **generation** as
//! well as the key: every connection gets a fresh generation, and an event
//! whose generation does not match the slot's occupant is dropped. (The other
//! common fix, deferring removal to the end of the loop turn, keeps closed
//! connections alive in the slab; the generation check costs one compare and
//! lets a connection be freed the moment it closes.)
//!
//! Layout of the `usize`: the low 32 bits are the slab key, the high 32 bits
//! the generation. Generation 0 is never given to a connection; tokens with
//! generation 0 name the loop's own sources (listener, waker, signals, and a few
//! protocol-owned ones such as a UDP socket or stdin).

use mio::Token;

// The packing below needs a 64-bit `usize`.
const _: () = assert!(usize::BITS >= 64, "reactor needs a 64-bit target");

/// The `mio::Waker`: other threads wake the loop through it.
pub const WAKER: Token = Token(0);
/// The pipe SIGINT and SIGTERM are written into (see `signals.rs`).
pub const SIGNALS: Token = Token(1);
/// The most listeners one loop takes (each needs a token of its own).
pub const MAX_LISTENERS: usize = 8;

/// The first listening socket's token; the others follow it.
const FIRST_LISTENER: usize = 2;
/// First token a protocol may use for a source of its own
/// (see [`source_token`]).
const FIRST_SOURCE: usize = FIRST_LISTENER + MAX_LISTENERS;
/// How many protocol-owned sources one loop can have: enough for the load
/// generator's UDP sockets (one per simulated client). Source tokens have
/// generation 0, so they never collide with a connection's token however
/// many there are.
pub const MAX_SOURCES: usize = 4096;

/// The token of listening socket number `n` (`n < MAX_LISTENERS`).
pub fn listener_token(n: usize) -> Token {
    assert!(n < MAX_LISTENERS, "listener number {n} out of range");
    Token(FIRST_LISTENER + n)
}

/// If `token` names listening socket `n`, returns `n`.
pub fn listener_number(token: Token) -> Option<usize> {
    (FIRST_LISTENER..FIRST_SOURCE)
        .contains(&token.0)
        .then(|| token.0 - FIRST_LISTENER)
}

/// The token for protocol-owned source number `n` (`n < MAX_SOURCES`),
/// e.g. a UDP socket or stdin.
pub fn source_token(n: usize) -> Token {
    assert!(n < MAX_SOURCES, "source number {n} out of range");
    Token(FIRST_SOURCE + n)
}

/// If `token` names protocol-owned source `n`, returns `n`.
pub fn source_number(token: Token) -> Option<usize> {
    (FIRST_SOURCE..FIRST_SOURCE + MAX_SOURCES)
        .contains(&token.0)
        .then(|| token.0 - FIRST_SOURCE)
}

/// Whose a token is: what [`Reactor::dispatch`](super::Reactor) matches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// A connection (generation not 0).
    Conn(ConnId),
    /// Listening socket number `n`.
    Listener(usize),
    /// The protocol's own source number `n`.
    Source(usize),
    /// The waker.
    Waker,
    /// The signal pipe.
    Signals,
    /// Nothing this loop registered.
    Unknown,
}

impl Owner {
    /// Decodes a token.
    pub fn of(token: Token) -> Owner {
        if let Some(id) = ConnId::from_token(token) {
            return Owner::Conn(id);
        }
        match token {
            WAKER => Owner::Waker,
            SIGNALS => Owner::Signals,
            _ => match (listener_number(token), source_number(token)) {
                (Some(n), _) => Owner::Listener(n),
                (None, Some(n)) => Owner::Source(n),
                (None, None) => Owner::Unknown,
            },
        }
    }
}

/// Names one connection for its whole life: slab key plus generation.
///
/// Protocols keep their per-connection state keyed by [`ConnId::index`] and
/// compare whole `ConnId`s when they must be sure a slot still holds the same
/// connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    index: u32,
    generation: u32,
}

impl ConnId {
    pub(crate) fn new(index: usize, generation: u32) -> ConnId {
        debug_assert!(generation != 0, "generation 0 names the loop's own sources");
        debug_assert!(index <= u32::MAX as usize);
        ConnId {
            index: index as u32,
            generation,
        }
    }

    /// The slab key: small, dense, reused after a close.
    pub fn index(self) -> usize {
        self.index as usize
    }

    /// Which occupant of the slot this is.
    pub fn generation(self) -> u32 {
        self.generation
    }

    /// The token this connection is registered with.
    pub fn token(self) -> Token {
        Token(((self.generation as usize) << 32) | self.index as usize)
    }

    /// The connection a token names, or `None` for the loop's own sources.
    pub fn from_token(token: Token) -> Option<ConnId> {
        let generation = (token.0 >> 32) as u32;
        (generation != 0).then_some(ConnId {
            index: token.0 as u32,
            generation,
        })
    }
}

impl std::fmt::Display for ConnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Users see the slab key, the number `--trace` calls "conn 4".
        write!(f, "{}", self.index)
    }
}

/// A token as `--trace` prints it: in hexadecimal, with the generation
/// (high 32 bits) and the slot (low 32 bits, in two groups of four
/// digits) apart, so the layout shows: `0x1_0000_0004` is generation 1 of
/// slot 4, the connection `--trace` calls `conn 4`. The loop's own tokens
/// (generation 0) are printed plainly: `0x2` is the first listener.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ShowToken(pub(crate) Token);

impl std::fmt::Display for ShowToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (generation, slot) = (self.0 .0 >> 32, self.0 .0 & 0xFFFF_FFFF);
        if generation == 0 {
            write!(f, "{slot:#x}")
        } else {
            write!(
                f,
                "{generation:#x}_{:04x}_{:04x}",
                slot >> 16,
                slot & 0xFFFF
            )
        }
    }
}

/// Hands out generations: counts up, skipping 0, wrapping after 2^32 - 1
/// connections (by then no event for the old occupant can be in flight).
#[derive(Debug, Default)]
pub struct Generations {
    last: u32,
}

impl Generations {
    /// The next generation, never 0.
    pub fn next(&mut self) -> u32 {
        self.last = self.last.wrapping_add(1).max(1);
        self.last
    }
}

/// Hands out the [`ConnId`] of each new connection: a free slot (the most
/// recently freed first, as a slab does: its memory is likely still in
/// cache) and a fresh generation.
#[derive(Debug, Default)]
pub struct IdPool {
    /// Slots given back and not reused yet.
    free: Vec<u32>,
    /// Slots ever used; the next new one is this.
    used: u32,
    /// Where generations are counted.
    generations: Generations,
}

impl IdPool {
    /// The id for a new connection.
    pub fn take(&mut self) -> ConnId {
        let index = self.free.pop().unwrap_or_else(|| {
            self.used += 1;
            self.used - 1
        });
        ConnId::new(index as usize, self.generations.next())
    }

    /// `id`'s connection is gone: its slot may be used again.
    pub fn give_back(&mut self, id: ConnId) {
        self.free.push(id.index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trip_keeps_key_and_generation() {
        let id = ConnId::new(4, 7);
        assert_eq!(ConnId::from_token(id.token()), Some(id));
        assert_eq!(id.index(), 4);
    }

    #[test]
    fn a_reused_slot_gets_a_different_token() {
        let mut generations = Generations::default();
        let old = ConnId::new(4, generations.next());
        let new = ConnId::new(4, generations.next());
        assert_eq!(old.index(), new.index());
        assert_ne!(old.token(), new.token());
    }

    #[test]
    fn named_tokens_are_not_connections() {
        assert_eq!(ConnId::from_token(listener_token(0)), None);
        assert_eq!(listener_number(listener_token(3)), Some(3));
        assert_eq!(listener_number(source_token(0)), None);
        assert_eq!(ConnId::from_token(WAKER), None);
        assert_eq!(ConnId::from_token(source_token(3)), None);
        assert_eq!(source_number(source_token(3)), Some(3));
        assert_eq!(source_number(WAKER), None);
    }

    #[test]
    fn the_pool_reuses_slots_with_new_generations() {
        let mut pool = IdPool::default();
        let a = pool.take();
        let b = pool.take();
        assert_eq!((a.index(), b.index()), (0, 1));
        pool.give_back(a);
        let c = pool.take();
        assert_eq!(c.index(), 0);
        assert_ne!(c, a);
        assert_eq!(pool.take().index(), 2);
    }

    #[test]
    fn tokens_are_shown_with_generation_and_slot_apart() {
        let show = |token| ShowToken(token).to_string();
        assert_eq!(show(ConnId::new(4, 1).token()), "0x1_0000_0004");
        assert_eq!(show(ConnId::new(0x1_0002, 0xab).token()), "0xab_0001_0002");
        assert_eq!(show(listener_token(0)), "0x2");
        assert_eq!(show(WAKER), "0x0");
    }

    #[test]
    fn generations_skip_zero_when_they_wrap() {
        let mut generations = Generations { last: u32::MAX };
        assert_eq!(generations.next(), 1);
    }
}
