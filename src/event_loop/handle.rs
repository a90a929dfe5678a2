//! [`Handle`]: the way into a running loop from another thread; and
//! [`LoopGroup`]: loops that stop together (one loop per core).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use mio::Waker;

/// Reaches a running loop from another thread: a signal-handling thread
/// asks it to shut down, a protocol's helper thread wakes it. Both go
/// through the loop's `mio::Waker`, the one thread-safe way into `poll`.
#[derive(Debug, Clone)]
pub struct Handle {
    inner: Arc<HandleInner>,
}

#[derive(Debug)]
struct HandleInner {
    waker: Waker,
    requests: AtomicUsize,
    app_wakes: AtomicUsize,
}

impl Handle {
    /// Requests a graceful shutdown; returns how many were requested before
    /// (so a caller can treat a second request as "exit now").
    pub fn shutdown(&self) -> usize {
        let before = self.inner.requests.fetch_add(1, Ordering::SeqCst);
        // A failed wake leaves the request to be seen at the next turn.
        let _ = self.inner.waker.wake();
        before
    }

    /// Wakes the loop for the protocol's `on_wake` (a helper thread has
    /// something for it).
    ///
    /// Only the first wake since the loop last looked makes a system call
    /// (the waker's `eventfd` write, about a microsecond): the loop calls
    /// `on_wake` once for all the wakes it finds, so a wake that finds one
    /// pending has nothing to add. Under load, when another worker's chat
    /// messages come faster than this loop turns, each costs one atomic
    /// add instead of a system call on the sender's core. The loop resets
    /// the count *before* `on_wake` looks for work (`take_wakes`), so work
    /// handed over after the reset always brings a new wake.
    pub fn wake(&self) {
        if self.inner.app_wakes.fetch_add(1, Ordering::SeqCst) == 0 {
            // mio's waker retries by itself when the eventfd counter is
            // full; any other failure would be the kernel's.
            let _ = self.inner.waker.wake();
        }
    }
}

impl Handle {
    pub(crate) fn new(waker: Waker) -> Handle {
        Handle {
            inner: Arc::new(HandleInner {
                waker,
                requests: AtomicUsize::new(0),
                app_wakes: AtomicUsize::new(0),
            }),
        }
    }

    /// Whether a shutdown was requested.
    pub(crate) fn shutdown_requested(&self) -> bool {
        self.inner.requests.load(Ordering::SeqCst) > 0
    }

    /// Whether a protocol helper woke the loop since the last call.
    pub(crate) fn take_wakes(&self) -> bool {
        self.inner.app_wakes.swap(0, Ordering::SeqCst) > 0
    }
}

/// Loops that stop together: the workers of a server with `--workers N`.
/// A signal reaches one of them (the one that installed the handlers),
/// which stops the others through their handles.
#[derive(Debug, Default)]
pub struct LoopGroup {
    handles: Mutex<Vec<Handle>>,
    stopping: AtomicBool,
}

impl LoopGroup {
    /// Adds a loop. A loop that joins after the group was told to stop is
    /// stopped at once, so none is left running by a race with a signal.
    pub fn join(&self, handle: Handle) {
        if let Ok(mut handles) = self.handles.lock() {
            handles.push(handle.clone());
        }
        if self.stopping.load(Ordering::SeqCst) {
            handle.shutdown();
        }
    }

    /// Asks every loop of the group to shut down gracefully.
    pub fn stop_all(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        // The lock is held only to copy the list: never across a wake.
        let handles = match self.handles.lock() {
            Ok(handles) => handles.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        for handle in handles {
            handle.shutdown();
        }
    }
}
