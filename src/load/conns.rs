//! What the TCP generators (echo, HTTP, chat) share: their connections in
//! a [`ConnMap`], opened together at the start, and
//! the few pieces of bookkeeping each of them needs ([`on_timer`] serves
//! the UDP generator too).

use std::time::Instant;

use crate::event_loop::{CloseReason, ConnId, ConnMap, Io};

use super::tally::{Plan, Tally};
use super::{LoadTimer, TICK_EVERY, TIMEOUT};

/// A generator's per-connection state knows where it is on the open-loop
/// schedule.
pub trait Tracked {
    /// `(connection number, messages sent)`, once the connection may send
    /// (connected, or for chat, welcomed); `None` before.
    fn schedule(&self) -> Option<(u64, u64)>;
}

/// A generator's connections.
#[derive(Debug)]
pub struct Conns<C> {
    map: ConnMap<C>,
}

impl<C> Default for Conns<C> {
    fn default() -> Self {
        Conns {
            map: ConnMap::new(),
        }
    }
}

impl<C: Tracked> Conns<C> {
    /// Starts a connect for every connection number of `plan`; `make`
    /// builds the state of each. A connect that fails at once is counted.
    pub fn open_all(
        &mut self,
        io: &mut Io<LoadTimer>,
        plan: &Plan,
        tally: &mut Tally,
        mut make: impl FnMut(u64) -> C,
    ) {
        for number in plan.numbers.clone() {
            match io.connect(plan.addr) {
                Ok(id) => {
                    self.map.insert(id, make(number));
                }
                Err(e) => tally.connect_failed(&e),
            }
        }
    }

    /// The state of `id`, if it is still that connection's.
    pub fn get_mut(&mut self, id: ConnId) -> Option<&mut C> {
        self.map.get_mut(id)
    }

    /// Forgets `id`; returns its state.
    pub fn remove(&mut self, id: ConnId) -> Option<C> {
        self.map.remove(id)
    }

    /// Every connection's state.
    pub fn iter(&self) -> impl Iterator<Item = &C> {
        self.map.iter().map(|(_, conn)| conn)
    }

    /// Open loop: how many messages each connection owes by `now`, for
    /// those that owe any.
    pub fn due(&self, plan: &Plan, now: Instant) -> Vec<(ConnId, u64)> {
        self.map
            .iter()
            .filter_map(|(id, conn)| {
                let (number, sent) = conn.schedule()?;
                let count = plan.due(number, sent, now);
                (count > 0).then_some((id, count))
            })
            .collect()
    }

    /// Every connection's state, to change.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (ConnId, &mut C)> {
        self.map.iter_mut()
    }
}

/// Messages still unanswered [`TIMEOUT`] after they were sent, at `now`.
pub fn timeouts<'a>(sent: impl Iterator<Item = &'a Instant>, now: Instant) -> u64 {
    sent.filter(|&&at| at + TIMEOUT <= now).count() as u64
}

/// A connection closed with `lost` messages unanswered: a failed connect,
/// or a reset that lost them.
pub fn count_close(tally: &mut Tally, reason: &CloseReason, lost: u64) {
    match reason {
        CloseReason::ConnectFailed(e) => tally.connect_failed(e),
        _ => {
            tally.errors.reset += 1;
            tally.errors.lost += lost;
        }
    }
}

/// The timers every generator uses: the end stops the loop, the tick runs
/// `tick` and re-arms itself.
pub fn on_timer(io: &mut Io<LoadTimer>, timer: LoadTimer, tick: impl FnOnce(&mut Io<LoadTimer>)) {
    match timer {
        LoadTimer::End => io.stop(),
        LoadTimer::Tick => {
            tick(io);
            io.set_timer(TICK_EVERY, LoadTimer::Tick);
        }
    }
}
