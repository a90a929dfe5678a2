//! SIGINT and SIGTERM as one more source on the loop.
//!
//! A signal handler may do almost nothing safely: no allocation, no lock,
//! no logging. So the handler (installed by `signal-hook`) only writes a
//! byte into a pipe, and the pipe's reading end is registered with `poll`
//! like any socket (`signal-hook-mio`). The signal then arrives as an
//! ordinary readiness event, in the middle of an ordinary turn, and the
//! loop handles it with everything else it knows: the first one starts a
//! graceful shutdown (`shutdown.rs`), a second one ends the loop at once.
//! No thread, and no race with a loop asleep in `epoll_wait`: the byte in
//! the pipe wakes it.
//!
//! The handlers are installed by [`Reactor::stop_on_signals`], which a
//! server calls *before* it prints its readiness line: a script that sends
//! SIGTERM the moment it sees that line must get a graceful exit, not the
//! default action (death by signal).

use log::{info, warn};
use mio::Interest;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;

use super::token::SIGNALS;
use super::{Phase, Protocol, Reactor};

impl<P: Protocol> Reactor<P> {
    /// Catches SIGINT and SIGTERM from now on: the first begins a graceful
    /// shutdown, a second ends [`run`](Reactor::run) at once (then
    /// [`second_signal`](Reactor::second_signal) says which).
    pub fn stop_on_signals(&mut self) -> std::io::Result<()> {
        let mut signals = Signals::new([SIGINT, SIGTERM])?;
        self.poll
            .registry()
            .register(&mut signals, SIGNALS, Interest::READABLE)?;
        self.signals = Some(signals);
        Ok(())
    }

    /// The signal that cut the loop short, if a second one came.
    pub fn second_signal(&self) -> Option<i32> {
        self.second_signal
    }

    /// The signal pipe is readable: act on every signal that arrived.
    pub(super) fn signalled(&mut self) {
        let Some(signals) = self.signals.as_mut() else {
            return;
        };
        let arrived: Vec<i32> = signals.pending().collect();
        for signal in arrived {
            let name = if signal == SIGINT {
                "SIGINT"
            } else {
                "SIGTERM"
            };
            if self.phase == Phase::Running {
                info!("{name}: shutting down");
                self.begin_shutdown();
                if let Some(group) = &self.group {
                    group.stop_all();
                }
            } else {
                warn!("second signal ({name}): exiting at once");
                self.second_signal = Some(signal);
                self.io.stop_requested = true;
            }
        }
    }
}
