//! A verifying open-loop fan-out driver: S subscribers and P publishers on
//! one pub/sub server, publications on a fixed schedule, every delivery
//! checked and timed. It speaks `reactor chat` lines or Redis' RESP, so the
//! two servers are driven identically.
//!
//! `reactor load --mode chat` speaks only chat; comparing with Redis needs
//! a driver that speaks both, and this is it. One thread and one `mio`
//! loop: subscribers only read, publishers write on the schedule (and, in
//! chat, where publishers are members too, read and drop what they hear).
//!
//! The run: connect everyone, wait until every subscriber is in (chat
//! welcome, Redis `subscribe` confirmation), publish for warm-up plus
//! duration, then wait (at most `drain`) for the last deliveries. Messages
//! meant to leave during the warm-up are verified but not measured.

mod resp;
pub mod track;
mod wire;

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use track::Tally;
pub use wire::Proto;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub addr: SocketAddr,
    pub proto: Proto,
    pub subscribers: usize,
    pub publishers: usize,
    /// Publications per second over all publishers.
    pub rate: u64,
    /// Payload bytes.
    pub size: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// How long to wait for the last deliveries after publishing stops.
    pub drain: Duration,
}

/// What came of it.
#[derive(Debug)]
pub struct Outcome {
    pub tally: Tally,
    pub published: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Subscriber(usize),
    Publisher(usize),
}

#[derive(Debug)]
struct Conn {
    stream: TcpStream,
    role: Role,
    /// Received bytes not yet a whole frame.
    input: Vec<u8>,
    /// Publications the socket did not take yet.
    output: Vec<u8>,
    ready: bool,
    open: bool,
}

/// The run in progress.
struct Driver<'a> {
    options: &'a Options,
    poll: Poll,
    conns: Vec<Conn>,
    tally: Tally,
    /// Publications made, per publisher.
    sent: Vec<u64>,
    scratch: Vec<u8>,
    payload: Vec<u8>,
    first_refusal: Option<String>,
}

/// Connects, runs, and tallies; `Err` only if the run could not start.
pub fn run(options: &Options) -> Result<Outcome, String> {
    if options.subscribers == 0 || options.publishers == 0 || options.rate == 0 {
        return Err("subscribers, publishers and rate must be at least 1".into());
    }
    let poll = Poll::new().map_err(|e| format!("cannot make a poll: {e}"))?;
    let window = (options.warmup, options.duration);
    let tally = Tally::new(
        options.subscribers,
        options.publishers,
        options.size,
        window,
    )?;
    let mut driver = Driver {
        options,
        poll,
        conns: Vec::new(),
        tally,
        sent: vec![0; options.publishers],
        scratch: vec![0; 64 * 1024],
        payload: Vec::new(),
        first_refusal: None,
    };
    driver.connect_all()?;
    let setup_deadline =
        Instant::now() + Duration::from_secs(10 + options.subscribers as u64 / 100);
    driver.turn_until(setup_deadline, |d| {
        d.conns.iter().all(|c| c.ready || !c.open)
    })?;
    if let Some(waiting) = driver.conns.iter().position(|c| !c.ready) {
        return Err(format!(
            "setup failed: connection {waiting} was never welcomed or subscribed{}",
            driver.refusal_note()
        ));
    }
    // Scripts wait for this line to know the warm-up has begun.
    eprintln!("fanout: {} connections in, publishing", driver.conns.len());
    driver.publish_and_drain()?;
    if let Some(note) = driver.first_refusal.take() {
        eprintln!("fanout: first refusal: {note}");
    }
    let published = driver.sent.iter().sum();
    let Driver {
        mut tally, sent, ..
    } = driver;
    tally.finish(&sent);
    Ok(Outcome { tally, published })
}

impl Driver<'_> {
    fn connect_all(&mut self) -> Result<(), String> {
        let (subs, pubs) = (self.options.subscribers, self.options.publishers);
        let roles = (0..subs)
            .map(Role::Subscriber)
            .chain((0..pubs).map(Role::Publisher));
        for role in roles {
            let stream = std::net::TcpStream::connect(self.options.addr)
                .map_err(|e| format!("cannot connect to {}: {e}", self.options.addr))?;
            let _ = stream.set_nodelay(true);
            let mut output = Vec::new();
            let ready = match (role, self.options.proto) {
                (Role::Subscriber(_), proto) => {
                    output = wire::subscribe(proto);
                    false
                }
                (Role::Publisher(_), Proto::Chat) => false, // a member: wait for its welcome
                (Role::Publisher(_), Proto::Redis) => true,
            };
            stream
                .set_nonblocking(true)
                .map_err(|e| format!("cannot make a socket non-blocking: {e}"))?;
            let mut stream = TcpStream::from_std(stream);
            let token = Token(self.conns.len());
            self.poll
                .registry()
                .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                .map_err(|e| format!("cannot watch a connection: {e}"))?;
            let conn = Conn {
                stream,
                role,
                input: Vec::new(),
                output,
                ready,
                open: true,
            };
            self.conns.push(conn);
            self.flush(token.0);
        }
        Ok(())
    }

    /// Publishes on the schedule for warm-up plus duration, then waits for
    /// the last deliveries.
    fn publish_and_drain(&mut self) -> Result<(), String> {
        let start = Instant::now();
        self.tally.begin(start);
        let stop = start + self.options.warmup + self.options.duration;
        // Publish before checking the clock: a turn that wakes late, past
        // the stop, still sends what fell due before it.
        loop {
            let next = self.publish_due(start, stop);
            if Instant::now() >= stop {
                break;
            }
            self.turn(next.min(stop))?;
        }
        let deadline = Instant::now() + self.options.drain;
        self.turn_until(deadline, |d| d.tally.complete(&d.sent))
    }

    /// When publication `seq` of publisher `p` is meant to leave, counted
    /// from the start: the publishers take turns, so it is message
    /// `seq * P + p` of the whole schedule, one every `1 / rate` seconds.
    /// Whole nanoseconds, so a message on the edge of the measured window
    /// falls on the same side every time.
    fn intended(&self, p: usize, seq: u64) -> Duration {
        let k = u128::from(seq) * self.options.publishers as u128 + p as u128;
        let nanos = k * 1_000_000_000 / u128::from(self.options.rate);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// Sends every publication whose time has come; returns when the next
    /// one is due.
    fn publish_due(&mut self, start: Instant, stop: Instant) -> Instant {
        let now = Instant::now();
        let first = self.options.subscribers;
        let mut next = stop;
        for p in 0..self.options.publishers {
            let mut queued = false;
            loop {
                let offset = self.intended(p, self.sent[p]);
                let at = start + offset;
                if at > now || at >= stop {
                    next = next.min(at);
                    break;
                }
                let nanos = offset.as_nanos();
                track::payload(p, self.sent[p], nanos, self.options.size, &mut self.payload);
                wire::publish(
                    self.options.proto,
                    &self.payload,
                    &mut self.conns[first + p].output,
                );
                self.sent[p] += 1;
                queued = true;
            }
            if queued {
                self.flush(first + p);
            }
        }
        next
    }

    fn turn_until(
        &mut self,
        deadline: Instant,
        done: impl Fn(&Self) -> bool,
    ) -> Result<(), String> {
        while !done(self) && Instant::now() < deadline {
            self.turn(deadline.min(Instant::now() + Duration::from_millis(100)))?;
        }
        Ok(())
    }

    /// Waits for events until `until` at the latest, and handles them.
    fn turn(&mut self, until: Instant) -> Result<(), String> {
        let mut events = Events::with_capacity(1024);
        let timeout = until.saturating_duration_since(Instant::now());
        match self.poll.poll(&mut events, Some(timeout)) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(format!("poll failed: {e}")),
        }
        for event in events.iter() {
            let index = event.token().0;
            if event.is_readable() || event.is_read_closed() || event.is_error() {
                self.receive(index);
            }
            if event.is_writable() {
                self.flush(index);
            }
        }
        Ok(())
    }

    /// Reads until the socket is empty (mio is edge-triggered), handling
    /// the whole frames of each read before the next, so the input never
    /// holds more than one read and a partial frame.
    ///
    /// A read that does not fill the buffer has emptied the socket, and
    /// bytes arriving later raise a new edge, so there is no need for one
    /// more read to see `WouldBlock` (as `reactor` does too). The driver's
    /// core is what limits it: this halves its system calls per delivery.
    fn receive(&mut self, index: usize) {
        loop {
            let Some(conn) = self.conns.get_mut(index).filter(|c| c.open) else {
                return;
            };
            let n = match conn.stream.read(&mut self.scratch) {
                Ok(0) => return self.lost_connection(index),
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return self.lost_connection(index),
            };
            conn.input.extend_from_slice(&self.scratch[..n]);
            self.frames(index);
            if n < self.scratch.len() {
                return;
            }
        }
    }

    fn frames(&mut self, index: usize) {
        let now = Instant::now();
        let input = std::mem::take(&mut self.conns[index].input);
        let role = self.conns[index].role;
        let mut at = 0;
        loop {
            match wire::next_frame(self.options.proto, &input[at..]) {
                Ok(Some((frame, used))) => {
                    self.frame(index, role, frame, now);
                    at += used;
                }
                Ok(None) => break,
                Err(e) => {
                    self.refused(e);
                    return self.lost_connection(index);
                }
            }
        }
        let conn = &mut self.conns[index];
        conn.input = input;
        conn.input.drain(..at);
    }

    fn frame(&mut self, index: usize, role: Role, frame: wire::Frame<'_>, now: Instant) {
        use wire::Frame;
        match (frame, role) {
            (Frame::Ready, _) => self.conns[index].ready = true,
            (Frame::Delivery(bytes), Role::Subscriber(s)) => self.tally.delivery(s, bytes, now),
            (Frame::Delivery(_), Role::Publisher(_)) | (Frame::Notice, _) => {}
            (Frame::Reached(n), Role::Publisher(_)) if n == self.options.subscribers as i64 => {}
            (Frame::Reached(n), _) => self.refused(format!(
                "PUBLISH reached {n}, not {}",
                self.options.subscribers
            )),
            (Frame::Refused(text), _) => self.refused(text),
        }
    }

    fn refused(&mut self, text: String) {
        self.tally.errors.refused += 1;
        self.first_refusal.get_or_insert(text);
    }

    fn refusal_note(&self) -> String {
        match &self.first_refusal {
            Some(text) => format!(" (server said: {text})"),
            None => String::new(),
        }
    }

    /// Writes what is queued until the socket takes no more.
    fn flush(&mut self, index: usize) {
        let Some(conn) = self.conns.get_mut(index).filter(|c| c.open) else {
            return;
        };
        let mut written = 0;
        while written < conn.output.len() {
            match conn.stream.write(&conn.output[written..]) {
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return self.lost_connection(index),
            }
        }
        conn.output.drain(..written);
    }

    fn lost_connection(&mut self, index: usize) {
        if let Some(conn) = self.conns.get_mut(index).filter(|c| c.open) {
            conn.open = false;
            let _ = self.poll.registry().deregister(&mut conn.stream);
            self.tally.errors.reset += 1;
        }
    }
}
