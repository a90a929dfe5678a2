//! [`ConnMap`]: the one table keyed by [`ConnId`].
//!
//! The loop keeps its connections in one, and every protocol that needs a
//! little state per connection (chat's sessions, HTTP's request state, the
//! load generator's counters) keeps it in another, indexed the same way.
//! It is a slab: a dense `Vec` whose slots are small integers reused after
//! a close, so finding a connection's entry is an index, not a hash.
//!
//! Because slots are reused, an index alone could name a newer connection
//! than the caller means. Every entry therefore remembers the whole
//! [`ConnId`] (slot *and* generation, see `token.rs`), and every lookup
//! compares it: asking for a connection that has gone gives `None`, even
//! when its slot is occupied again. That check is written here once,
//! instead of in each table.
//!
//! Which slot a new connection gets is decided by the loop
//! ([`IdPool`](super::token::IdPool)); a `ConnMap` only stores and finds.
//!
//! ```
//! use mio::Token;
//! use reactor::event_loop::ConnMap;
//! use reactor::ConnId;
//!
//! // A connection's token is its generation (high 32 bits) and its slot
//! // (low 32 bits); the loop makes them, here they are made by hand.
//! let alice = ConnId::from_token(Token((1 << 32) | 4)).expect("generation 1");
//! let bob = ConnId::from_token(Token((2 << 32) | 4)).expect("generation 2");
//! assert_eq!(alice.index(), bob.index()); // the same slot
//!
//! let mut names = ConnMap::new();
//! names.insert(alice, "alice");
//! names.remove(alice); // alice's connection closed...
//! names.insert(bob, "bob"); // ...and bob's took its slot
//! assert_eq!(names.get(alice), None); // a late event for alice finds nothing
//! assert_eq!(names.get(bob), Some(&"bob"));
//! ```

use super::token::ConnId;

/// Values of type `T`, one per connection, found by [`ConnId`].
#[derive(Debug)]
pub struct ConnMap<T> {
    /// Indexed by [`ConnId::index`]; `None` for a free slot.
    slots: Vec<Option<Entry<T>>>,
    /// Occupied slots.
    len: usize,
}

/// One occupied slot: whose it is, and the value.
#[derive(Debug)]
struct Entry<T> {
    id: ConnId,
    value: T,
}

impl<T> Default for ConnMap<T> {
    fn default() -> Self {
        ConnMap::new()
    }
}

impl<T> ConnMap<T> {
    /// An empty table; it allocates at its first insert.
    pub const fn new() -> ConnMap<T> {
        ConnMap {
            slots: Vec::new(),
            len: 0,
        }
    }

    /// Stores `value` for `id`. Returns what the slot held before, if
    /// anything: normally nothing; an entry of the same `id` when it is
    /// replaced; or a stale entry of an older connection, which the caller
    /// may want to clean up after.
    pub fn insert(&mut self, id: ConnId, value: T) -> Option<(ConnId, T)> {
        let index = id.index();
        if self.slots.len() <= index {
            self.slots.resize_with(index + 1, || None);
        }
        let before = self.slots[index].replace(Entry { id, value });
        if before.is_none() {
            self.len += 1;
        }
        before.map(|entry| (entry.id, entry.value))
    }

    /// The value of `id`, if that connection is still in the table.
    pub fn get(&self, id: ConnId) -> Option<&T> {
        match self.slots.get(id.index()) {
            Some(Some(entry)) if entry.id == id => Some(&entry.value),
            _ => None,
        }
    }

    /// The value of `id`, to change.
    pub fn get_mut(&mut self, id: ConnId) -> Option<&mut T> {
        match self.slots.get_mut(id.index()) {
            Some(Some(entry)) if entry.id == id => Some(&mut entry.value),
            _ => None,
        }
    }

    /// Whether `id` is in the table.
    pub fn contains(&self, id: ConnId) -> bool {
        self.get(id).is_some()
    }

    /// Takes `id` out of the table; a different occupant of its slot is
    /// left alone.
    pub fn remove(&mut self, id: ConnId) -> Option<T> {
        let slot = self.slots.get_mut(id.index())?;
        if slot.as_ref().is_some_and(|entry| entry.id == id) {
            self.len -= 1;
            return slot.take().map(|entry| entry.value);
        }
        None
    }

    /// Which connection holds the slot `id` would use, if any: `id` itself,
    /// or an older connection the caller has not forgotten yet.
    pub fn occupant(&self, id: ConnId) -> Option<ConnId> {
        match self.slots.get(id.index()) {
            Some(Some(entry)) => Some(entry.id),
            _ => None,
        }
    }

    /// Entries in the table.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every entry, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (ConnId, &T)> {
        self.slots
            .iter()
            .flatten()
            .map(|entry| (entry.id, &entry.value))
    }

    /// Every entry, to change, in slot order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (ConnId, &mut T)> {
        self.slots
            .iter_mut()
            .flatten()
            .map(|entry| (entry.id, &mut entry.value))
    }

    /// The ids in the table, collected: for loops that change the table
    /// while they walk it (closing every connection at shutdown).
    pub fn ids(&self) -> Vec<ConnId> {
        self.iter().map(|(id, _)| id).collect()
    }

    /// Empties the table, keeping its storage.
    pub fn clear(&mut self) {
        self.slots.iter_mut().for_each(|slot| *slot = None);
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_slot_does_not_answer_for_its_old_connection() {
        let mut map = ConnMap::new();
        let old = ConnId::new(4, 1);
        let new = ConnId::new(4, 2);
        assert!(map.insert(old, "old").is_none());
        assert_eq!(map.remove(old), Some("old"));
        assert!(map.insert(new, "new").is_none());
        assert_eq!(map.get(old), None);
        assert_eq!(map.remove(old), None, "the new occupant stays");
        assert_eq!(map.get(new), Some(&"new"));
        assert_eq!(map.occupant(old), Some(new));
        assert_eq!(map.len(), 1);
    }

    #[test]
    fn inserting_over_a_stale_entry_hands_it_back() {
        let mut map = ConnMap::new();
        map.insert(ConnId::new(2, 7), 'a');
        let before = map.insert(ConnId::new(2, 8), 'b');
        assert_eq!(before, Some((ConnId::new(2, 7), 'a')));
        assert_eq!(map.len(), 1);
    }

    #[test]
    fn iteration_sees_every_entry_once() {
        let mut map = ConnMap::new();
        for i in [5, 0, 9] {
            map.insert(ConnId::new(i, 1), i);
        }
        map.remove(ConnId::new(0, 1));
        let seen: Vec<usize> = map.iter().map(|(_, &v)| v).collect();
        assert_eq!(seen, vec![5, 9]);
        for (_, v) in map.iter_mut() {
            *v += 1;
        }
        assert_eq!(map.get(ConnId::new(9, 1)), Some(&10));
        map.clear();
        assert!(map.is_empty() && map.iter().next().is_none());
    }
}
