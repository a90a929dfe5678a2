//! Graceful shutdown: a signal arrives (`signals.rs`, or a
//! [`Handle::shutdown`](super::Handle::shutdown) from another thread
//! through the waker), the listener closes, every connection is flushed and
//! closed within `--shutdown-timeout`.

use log::debug;

use super::io::TimerKind;
use super::{CloseReason, Phase, Protocol, Reactor};

impl<P: Protocol> Reactor<P> {
    /// The waker fired: a shutdown request from another thread, or a
    /// protocol helper thread.
    pub(super) fn woken(&mut self) {
        if self.handle.shutdown_requested() && self.phase == Phase::Running {
            self.begin_shutdown();
        }
        if self.handle.take_wakes() {
            self.protocol.on_wake(&mut self.io);
            self.settle();
        }
    }

    /// Stops accepting, tells the protocol, and closes every connection
    /// once its output is flushed, within `--shutdown-timeout`.
    pub(super) fn begin_shutdown(&mut self) {
        debug!(
            "shutting down: {} connections to flush (at most {} s)",
            self.io.conns.len(),
            self.io.config.shutdown_timeout.as_secs_f64()
        );
        self.phase = Phase::Draining;
        self.close_listeners();
        self.protocol.on_shutdown(&mut self.io);
        for id in self.io.conns.ids() {
            self.io.close(id, CloseReason::Shutdown);
        }
        let deadline = self.io.now + self.io.config.shutdown_timeout;
        self.io.timers.add(deadline, TimerKind::ShutdownDeadline);
        self.settle();
    }
}
