//! One chat for several loops (`reactor chat --workers N`).
//!
//! Each worker's loop serves its own connections; the chat they serve is
//! one. What must be one is small, and it lives here:
//!
//! * the [`ChatState`] (names, rooms, members) behind one lock, held only
//!   while a command is worked out, never across I/O: a worker takes it,
//!   runs the command, notes which worker owns each member the command
//!   speaks to, and lets go before sending anything;
//! * an inbox per worker: a message for members of another worker goes to
//!   that worker once, as one [`Batch`] (the message, shared by reference
//!   count, and the list of its members there), and its loop is woken
//!   through its waker. One hop per worker per message, not one per
//!   member; and since a worker's inbox is first in first out, each
//!   sender's lines keep their order everywhere.
//!
//! With one worker there is one inbox nobody posts to, and a lock nobody
//! else takes, which costs a few nanoseconds a command.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use super::message::Message;
use super::state::{ChatState, MemberId};
use crate::event_loop::Handle;

/// Messages from another worker for members of this one.
#[derive(Debug)]
pub struct Batch {
    /// The message, one copy for every worker it goes to.
    pub message: Arc<Message>,
    /// Its recipients on this worker.
    pub members: Vec<MemberId>,
}

/// The chat's state, as the workers share it.
#[derive(Debug)]
pub struct Directory {
    /// Members, names and rooms.
    pub chat: ChatState,
    /// Which worker each member is served by, by [`MemberId::index`].
    owners: Vec<Option<usize>>,
}

impl Directory {
    /// The worker serving `member`.
    pub fn owner(&self, member: MemberId) -> Option<usize> {
        self.owners.get(member.index()).copied().flatten()
    }

    /// Notes that `worker` serves `member` (`None`: nobody any more).
    pub fn set_owner(&mut self, member: MemberId, worker: Option<usize>) {
        if self.owners.len() <= member.index() {
            self.owners.resize(member.index() + 1, None);
        }
        self.owners[member.index()] = worker;
    }

    /// The members served by `worker`.
    pub fn members_of(&self, worker: usize) -> Vec<MemberId> {
        self.owners
            .iter()
            .enumerate()
            .filter(|(_, owner)| **owner == Some(worker))
            .filter_map(|(index, _)| self.chat.member_at(index))
            .collect()
    }
}

/// One worker's way in: its inbox and, once its loop runs, its waker.
#[derive(Debug)]
struct Link {
    inbox: Sender<Batch>,
    handle: OnceLock<Handle>,
}

/// What the workers of one chat share.
#[derive(Debug)]
pub struct Shared {
    directory: Mutex<Directory>,
    links: Vec<Link>,
}

impl Shared {
    /// A chat for `workers` workers whose lines may be `max_line` bytes
    /// long; returns it and each worker's inbox, to hand to the worker.
    pub fn new(workers: usize, max_line: usize) -> (Arc<Shared>, Vec<Receiver<Batch>>) {
        let (links, inboxes): (Vec<Link>, Vec<Receiver<Batch>>) = (0..workers.max(1))
            .map(|_| {
                let (inbox, receiver) = mpsc::channel();
                let link = Link {
                    inbox,
                    handle: OnceLock::new(),
                };
                (link, receiver)
            })
            .unzip();
        let directory = Directory {
            chat: ChatState::new(max_line),
            owners: Vec::new(),
        };
        let shared = Shared {
            directory: Mutex::new(directory),
            links,
        };
        (Arc::new(shared), inboxes)
    }

    /// The directory, locked. A worker that panicked while holding it
    /// left it as it was; the chat goes on with it.
    pub fn lock(&self) -> MutexGuard<'_, Directory> {
        self.directory
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many workers share the chat.
    pub fn workers(&self) -> usize {
        self.links.len()
    }

    /// Worker `worker`'s loop is running: this is how to wake it.
    pub fn set_handle(&self, worker: usize, handle: Handle) {
        if let Some(link) = self.links.get(worker) {
            let _ = link.handle.set(handle);
        }
    }

    /// Hands `batch` to `worker` and wakes its loop.
    pub fn post(&self, worker: usize, batch: Batch) {
        let Some(link) = self.links.get(worker) else {
            return;
        };
        // A worker whose loop has ended has no inbox any more: its
        // members are gone too.
        if link.inbox.send(batch).is_ok() {
            if let Some(handle) = link.handle.get() {
                handle.wake();
            }
        }
    }
}
