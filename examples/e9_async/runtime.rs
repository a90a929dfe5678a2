//! What an async runtime provides, reduced to what `main.rs` needs: the
//! three parts tokio's runtime is made of, at their smallest.
//!
//! * the **driver** (tokio calls it the I/O driver, or reactor): sockets
//!   registered with `mio::Poll`, and for each one the `Waker` of the task
//!   waiting to read and of the one waiting to write. An event wakes them;
//!   that is all it does.
//! * **sockets whose calls are futures**: `read`, `write_all`, `accept`
//!   each try their system call at once; on `WouldBlock` they leave the
//!   task's waker with the driver and return `Pending`. Edge-triggered
//!   readiness is safe because a future only waits after `WouldBlock`.
//! * the **executor**: tasks in a slab, a queue of the woken ones, and the
//!   loop: poll every woken task, then sleep in `poll` until an event
//!   wakes more. A task may make `TASK_BUDGET` I/O calls per poll; then
//!   its future wakes itself and returns `Pending`, so a flooding client
//!   cannot starve the others: step 7's read budget, as tokio's `coop`
//!   module applies it to every task.
//!
//! Everything runs on one thread, so the driver is shared through an `Rc`
//! and a `RefCell`. Only the wakers must be `Send + Sync` (the `Waker`
//! contract lets any thread call them): their queue is behind a `Mutex`.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{self, Context, Wake, Waker};
use std::thread::{self, ThreadId};
use std::time::Duration;

use mio::event::{Event, Source};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Registry, Token};
use slab::Slab;

/// The `mio::Waker`'s token; every other token is a slot of the driver.
const WAKER: Token = Token(usize::MAX);
/// Events taken from the kernel per `poll`.
const EVENTS_CAPACITY: usize = 1024;
/// I/O calls one task may make per poll before the other tasks get
/// theirs: 16, as step 7 allows 16 reads. (tokio allows 128.)
const TASK_BUDGET: usize = 16;

/// The runtime: `poll`, the driver and the executor.
pub struct Runtime {
    poll: Poll,
    driver: Rc<Driver>,
    executor: Executor,
}

impl Runtime {
    pub fn new() -> io::Result<Runtime> {
        let poll = Poll::new()?;
        let driver = Rc::new(Driver::new(poll.registry().try_clone()?));
        let executor = Executor::new(poll.registry())?;
        Ok(Runtime {
            poll,
            driver,
            executor,
        })
    }

    /// A bound listener, made non-blocking and registered.
    pub fn listener(&self, listener: std::net::TcpListener) -> io::Result<AsyncListener> {
        listener.set_nonblocking(true)?;
        AsyncListener::new(TcpListener::from_std(listener), &self.driver)
    }

    pub fn spawner(&self) -> Spawner {
        self.executor.spawner.clone()
    }

    /// Runs `main` and every task it spawns; returns only on a failure of
    /// `poll` itself.
    pub fn run(mut self, main: Task) -> io::Result<()> {
        self.executor.spawn(main);
        self.executor.run(&mut self.poll, &self.driver)
    }
}

// ----- the driver: readiness events to wakers ----------------------------

/// Which way a task waits on a socket.
#[derive(Debug, Clone, Copy)]
enum Direction {
    Read,
    Write,
}

/// The tasks waiting on one registered socket.
#[derive(Default)]
struct Waiting {
    read: Option<Waker>,
    write: Option<Waker>,
}

/// Sockets registered with `poll`, and who waits on each. Shared by the
/// futures through an `Rc`: everything here runs on the loop's thread.
struct Driver {
    registry: Registry,
    /// By token: a slab key, as in step 6.
    waiting: RefCell<Slab<Waiting>>,
    /// I/O calls the task being polled may still make.
    budget: Cell<usize>,
}

impl Driver {
    fn new(registry: Registry) -> Driver {
        Driver {
            registry,
            waiting: RefCell::new(Slab::new()),
            budget: Cell::new(TASK_BUDGET),
        }
    }

    /// Registers `source` for both directions, once, edge-triggered (as
    /// tokio does): an edge nobody waits for costs one event, dropped.
    fn register(&self, source: &mut impl Source) -> io::Result<Token> {
        let token = Token(self.waiting.borrow_mut().insert(Waiting::default()));
        let both = Interest::READABLE | Interest::WRITABLE;
        if let Err(e) = self.registry.register(source, token, both) {
            self.waiting.borrow_mut().remove(token.0);
            return Err(e);
        }
        Ok(token)
    }

    fn deregister(&self, source: &mut impl Source, token: Token) {
        let _ = self.registry.deregister(source);
        self.waiting.borrow_mut().try_remove(token.0);
    }

    /// A future found `WouldBlock`: wake `waker` at the next edge.
    fn wait(&self, token: Token, direction: Direction, waker: &Waker) {
        let mut waiting = self.waiting.borrow_mut();
        let Some(entry) = waiting.get_mut(token.0) else {
            return;
        };
        let slot = match direction {
            Direction::Read => &mut entry.read,
            Direction::Write => &mut entry.write,
        };
        if !slot.as_ref().is_some_and(|old| old.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }

    /// An event: wake whoever waits for what it reports. A wake is only a
    /// hint ("try again"): a stale one costs a poll that finds nothing, so
    /// unlike step 6's events, wakes need no generation.
    fn dispatch(&self, event: &Event) {
        let (read, write) = {
            let mut waiting = self.waiting.borrow_mut();
            let Some(entry) = waiting.get_mut(event.token().0) else {
                return;
            };
            let failed = event.is_error();
            let readable = event.is_readable() || event.is_read_closed() || failed;
            let writable = event.is_writable() || event.is_write_closed() || failed;
            // Only the waiting that this event answers is taken: a task
            // waiting to read must not lose its waker to a writable edge.
            (
                if readable { entry.read.take() } else { None },
                if writable { entry.write.take() } else { None },
            )
        };
        for waker in [read, write].into_iter().flatten() {
            waker.wake();
        }
    }
}

// ----- sockets whose calls are futures -----------------------------------

/// What every registered socket has: its token, the driver, and how often
/// a task using it gave way to the others.
struct Registered {
    token: Token,
    driver: Rc<Driver>,
    gave_way: Cell<u64>,
}

impl Registered {
    fn new(source: &mut impl Source, driver: &Rc<Driver>) -> io::Result<Registered> {
        Ok(Registered {
            token: driver.register(source)?,
            driver: Rc::clone(driver),
            gave_way: Cell::new(0),
        })
    }

    /// One non-blocking call `op` on `source`, as every future makes it:
    /// the result if it has one; else `Pending`, with the task's waker left
    /// with the driver for the next edge; or `Pending` at once, with the
    /// task queued again behind the others, when its budget is spent.
    fn poll_io<S, T>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        source: &S,
        mut op: impl FnMut(&S) -> io::Result<T>,
    ) -> task::Poll<io::Result<T>> {
        let budget = &self.driver.budget;
        if budget.get() == 0 {
            self.gave_way.set(self.gave_way.get() + 1);
            cx.waker().wake_by_ref();
            return task::Poll::Pending;
        }
        budget.set(budget.get() - 1);
        loop {
            match op(source) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.driver.wait(self.token, direction, cx.waker());
                    return task::Poll::Pending;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                result => return task::Poll::Ready(result),
            }
        }
    }
}

/// A listening socket registered with the driver.
pub struct AsyncListener {
    listener: TcpListener,
    registered: Registered,
}

impl AsyncListener {
    fn new(mut listener: TcpListener, driver: &Rc<Driver>) -> io::Result<AsyncListener> {
        let registered = Registered::new(&mut listener, driver)?;
        Ok(AsyncListener {
            listener,
            registered,
        })
    }

    /// The next client (Python: `await loop.sock_accept(sock)`).
    pub async fn accept(&self) -> io::Result<(AsyncStream, SocketAddr)> {
        let (mut stream, peer) = std::future::poll_fn(|cx| {
            let accept = |listener: &TcpListener| listener.accept();
            self.registered
                .poll_io(cx, Direction::Read, &self.listener, accept)
        })
        .await?;
        let registered = Registered::new(&mut stream, &self.registered.driver)?;
        Ok((AsyncStream { stream, registered }, peer))
    }

    /// Waits for the listener's next readable edge, without accepting.
    pub async fn readable(&self) {
        let mut waited = false;
        std::future::poll_fn(|cx| {
            if waited {
                return task::Poll::Ready(());
            }
            waited = true;
            let Registered { token, driver, .. } = &self.registered;
            driver.wait(*token, Direction::Read, cx.waker());
            task::Poll::Pending
        })
        .await
    }
}

/// A connection registered with the driver; deregistered when dropped.
pub struct AsyncStream {
    stream: TcpStream,
    registered: Registered,
}

impl AsyncStream {
    pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> task::Poll<io::Result<usize>> {
        let read = |mut stream: &TcpStream| stream.read(buf);
        self.registered
            .poll_io(cx, Direction::Read, &self.stream, read)
    }

    pub fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> task::Poll<io::Result<usize>> {
        let write = |mut stream: &TcpStream| stream.write(buf);
        self.registered
            .poll_io(cx, Direction::Write, &self.stream, write)
    }

    /// Some bytes, or 0 at end of input (Python: `await loop.sock_recv`).
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_read(cx, buf)).await
    }

    /// Every byte of `buf` (Python: `await loop.sock_sendall`).
    pub async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = std::future::poll_fn(|cx| self.poll_write(cx, buf)).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            buf = &buf[n..];
        }
        Ok(())
    }

    /// How many times a task had to give way to the others, its budget
    /// spent, while using this stream.
    pub fn gave_way(&self) -> u64 {
        self.registered.gave_way.get()
    }
}

impl Drop for AsyncStream {
    fn drop(&mut self) {
        let Registered { token, driver, .. } = &self.registered;
        driver.deregister(&mut self.stream, *token);
    }
}

// ----- the executor: tasks, wakers, the loop -----------------------------

/// A task: a future nobody awaits, polled by the executor to its end.
pub type Task = Pin<Box<dyn Future<Output = ()>>>;

/// Where tasks spawned by other tasks wait to be adopted.
#[derive(Clone, Default)]
pub struct Spawner(Rc<RefCell<Vec<Task>>>);

impl Spawner {
    /// Python: `asyncio.create_task(coro)`.
    pub fn spawn(&self, task: Task) {
        self.0.borrow_mut().push(task);
    }
}

/// The ids of woken tasks, and how to wake `poll` from another thread.
struct ReadyQueue {
    ids: Mutex<VecDeque<usize>>,
    loop_thread: ThreadId,
    poll_waker: mio::Waker,
}

/// A task's waker: puts the task's id on the ready queue.
struct TaskWaker {
    id: usize,
    /// Already on the queue: a second wake adds nothing.
    queued: AtomicBool,
    ready: Arc<ReadyQueue>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::SeqCst) {
            return;
        }
        let mut ids = self
            .ready
            .ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        ids.push_back(self.id);
        drop(ids);
        // On the loop's thread the executor looks at the queue before it
        // sleeps (asyncio's `call_soon`). From any other thread the loop may
        // be asleep in `poll` and must be woken (`call_soon_threadsafe`).
        if thread::current().id() != self.ready.loop_thread {
            let _ = self.ready.poll_waker.wake();
        }
    }
}

/// The tasks, and the loop that polls them.
struct Executor {
    tasks: Slab<(Task, Arc<TaskWaker>)>,
    ready: Arc<ReadyQueue>,
    spawner: Spawner,
}

impl Executor {
    fn new(registry: &Registry) -> io::Result<Executor> {
        let ready = ReadyQueue {
            ids: Mutex::new(VecDeque::new()),
            loop_thread: thread::current().id(),
            poll_waker: mio::Waker::new(registry, WAKER)?,
        };
        Ok(Executor {
            tasks: Slab::new(),
            ready: Arc::new(ready),
            spawner: Spawner::default(),
        })
    }

    /// Adds a task, woken once so that it starts.
    fn spawn(&mut self, task: Task) {
        let entry = self.tasks.vacant_entry();
        let waker = Arc::new(TaskWaker {
            id: entry.key(),
            queued: AtomicBool::new(false),
            ready: Arc::clone(&self.ready),
        });
        waker.wake_by_ref();
        entry.insert((task, waker));
    }

    /// The ids woken so far, taken off the queue.
    fn take_ready(&self) -> VecDeque<usize> {
        let mut ids = self
            .ready
            .ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        std::mem::take(&mut *ids)
    }

    /// Polls every task woken before this call; one that wakes itself
    /// meanwhile (its budget spent) waits for the next round.
    fn run_ready(&mut self, driver: &Driver) {
        for id in self.take_ready() {
            // Not there: it finished, and this was a stale wake.
            let Some((task, waker)) = self.tasks.get_mut(id) else {
                continue;
            };
            waker.queued.store(false, Ordering::SeqCst);
            let waker = Waker::from(Arc::clone(waker));
            driver.budget.set(TASK_BUDGET);
            if task
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_ready()
            {
                // Finished: the future, and the sockets it owns, go.
                drop(self.tasks.remove(id));
            }
            let spawned = std::mem::take(&mut *self.spawner.0.borrow_mut());
            for task in spawned {
                self.spawn(task);
            }
        }
    }

    /// The loop: run what is ready, then sleep in `poll` until an event
    /// wakes a task; but do not sleep while tasks are still ready (step
    /// 7's zero timeout).
    fn run(&mut self, poll: &mut Poll, driver: &Driver) -> io::Result<()> {
        let mut events = Events::with_capacity(EVENTS_CAPACITY);
        loop {
            self.run_ready(driver);
            let idle = self
                .ready
                .ids
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .is_empty();
            let timeout = if idle { None } else { Some(Duration::ZERO) };
            if let Err(e) = poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            for event in events.iter() {
                // The waker's event says only "look at the queue", which
                // the next round does anyway.
                if event.token() != WAKER {
                    driver.dispatch(event);
                }
            }
        }
    }
}
