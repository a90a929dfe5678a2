//! The loop's own mechanics, tested turn by turn over real loopback
//! sockets: the read and accept budgets with their still-ready lists,
//! backpressure, a stale event for a reused slot, and the time a close
//! gets.
//! These drive `Reactor::turn` directly, so they can look at the loop
//! between turns instead of only at what comes out of a socket.

use std::error::Error;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream as StdStream};
use std::time::Duration;

use mio::Events;

use super::accept::ACCEPT_BUDGET;
use super::*;

/// What a test returns: any error fails it.
type TestResult = Result<(), Box<dyn Error>>;

/// Records how many bytes each turn delivered, and optionally echoes.
#[derive(Default)]
struct Recorder {
    delivered: usize,
    echo: bool,
    /// Where each opened connection came from, in order.
    origins: Vec<Option<Origin>>,
}

impl Protocol for Recorder {
    type Timer = ();

    fn on_open(&mut self, io: &mut Io<()>, conn: ConnId) {
        self.origins.push(io.origin(conn));
    }

    fn on_input(&mut self, io: &mut Io<()>, conn: ConnId, input: &[u8]) -> usize {
        self.delivered += input.len();
        if self.echo {
            io.send(conn, input);
        }
        input.len()
    }
}

fn listening(
    config: Config,
    protocol: Recorder,
) -> Result<(Reactor<Recorder>, SocketAddr), Box<dyn Error>> {
    let mut reactor = Reactor::new(config, protocol)?;
    let addr = reactor.listen("127.0.0.1:0".parse()?)?;
    Ok((reactor, addr))
}

/// Turns the loop until `done` holds, at most `limit` turns.
fn turn_until(
    reactor: &mut Reactor<Recorder>,
    limit: usize,
    mut done: impl FnMut(&Reactor<Recorder>) -> bool,
) -> std::io::Result<()> {
    let mut events = Events::with_capacity(64);
    for _ in 0..limit {
        if done(reactor) {
            return Ok(());
        }
        // Never sleep long in a test: the timeout only bounds a hang.
        reactor.io.timers.add(
            Instant::now() + Duration::from_millis(50),
            TimerKind::Protocol(()),
        );
        reactor.turn(&mut events)?;
    }
    assert!(done(reactor), "condition not reached in {limit} turns");
    Ok(())
}

#[test]
fn a_flood_is_read_within_the_budget_and_revisited_without_new_events() -> TestResult {
    let (mut reactor, addr) = listening(Config::default(), Recorder::default())?;
    let mut peer = StdStream::connect(addr)?;
    turn_until(&mut reactor, 100, |r| r.io.conns.len() == 1)?;

    // Put far more than one budget's worth in the kernel before the next
    // turn: 4 MiB from a thread (the write blocks until the loop reads).
    const FLOOD: usize = 4 * 1024 * 1024;
    let writer = std::thread::spawn(move || -> std::io::Result<StdStream> {
        peer.write_all(&vec![7u8; FLOOD])?;
        Ok(peer)
    });
    let budget_bytes = READ_BUDGET * SCRATCH_SIZE;
    let mut saw_revisit = false;
    let mut events = Events::with_capacity(64);
    for _ in 0..10_000 {
        if reactor.protocol.delivered == FLOOD {
            break;
        }
        let before = reactor.protocol.delivered;
        let revisit_pending = !reactor.io.still_ready.is_empty();
        reactor.io.timers.add(
            Instant::now() + Duration::from_millis(50),
            TimerKind::Protocol(()),
        );
        reactor.turn(&mut events)?;
        let this_turn = reactor.protocol.delivered - before;
        // A fresh event that did not use the whole budget may be followed
        // by the revisit: at most two budgets, never the whole flood.
        assert!(this_turn <= 2 * budget_bytes, "one turn read {this_turn} B");
        // However often it ran out of budget, the one connection is on the
        // next turn's list once: one budget per turn, not one per reason.
        assert!(
            reactor.io.still_ready.len() <= 1,
            "revisit list {:?}",
            reactor.io.still_ready
        );
        saw_revisit |= revisit_pending;
    }
    assert_eq!(reactor.protocol.delivered, FLOOD);
    assert!(saw_revisit, "the budget never left work for the next turn");
    drop(writer.join().map_err(|_| "writer thread panicked")??);
    Ok(())
}

#[test]
fn a_burst_of_connections_is_accepted_a_budget_per_turn() -> TestResult {
    let (mut reactor, addr) = listening(Config::default(), Recorder::default())?;
    // Two and a half budgets' worth, complete in the kernel's backlog
    // before the loop turns at all.
    const BURST: usize = 2 * ACCEPT_BUDGET + ACCEPT_BUDGET / 2;
    let peers = (0..BURST)
        .map(|_| StdStream::connect(addr))
        .collect::<Result<Vec<_>, _>>()?;
    let mut events = Events::with_capacity(64);
    let mut turns = 0;
    while reactor.io.conns.len() < BURST {
        turns += 1;
        assert!(turns <= 50, "only {} accepted", reactor.io.conns.len());
        let before = reactor.io.conns.len();
        reactor.io.timers.add(
            Instant::now() + Duration::from_millis(50),
            TimerKind::Protocol(()),
        );
        reactor.turn(&mut events)?;
        let accepted = reactor.io.conns.len() - before;
        assert!(accepted <= ACCEPT_BUDGET, "one turn accepted {accepted}");
    }
    // The rest came from the still-ready list, with no new event: three
    // turns for three budgets' worth, give or take the kernel's pace.
    assert!(turns >= 3, "the whole burst in {turns} turns");
    drop(peers);
    Ok(())
}

#[test]
fn a_peer_that_does_not_read_is_paused_then_resumed() -> TestResult {
    let config = Config {
        max_outbuf: 64 * 1024,
        ..Config::default()
    };
    let (mut reactor, addr) = listening(
        config,
        Recorder {
            echo: true,
            ..Recorder::default()
        },
    )?;
    let mut peer = StdStream::connect(addr)?;
    turn_until(&mut reactor, 100, |r| r.io.conns.len() == 1)?;

    // Send 32 MiB without reading: far more than the socket buffers and
    // --max-outbuf hold together.
    const TOTAL: usize = 32 * 1024 * 1024;
    let mut writer = peer.try_clone()?;
    let pushing = std::thread::spawn(move || writer.write_all(&vec![1u8; TOTAL]));
    let paused = |r: &Reactor<Recorder>| {
        r.io.conns
            .iter()
            .any(|(_, c)| matches!(c.state, State::Paused))
    };
    turn_until(&mut reactor, 10_000, paused)?;
    let queued: usize = reactor.io.conns.iter().map(|(_, c)| c.output.len()).sum();
    assert!(queued >= 64 * 1024, "paused with only {queued} B queued");
    assert!(
        queued <= 64 * 1024 + SCRATCH_SIZE,
        "queue passed its bound: {queued} B"
    );
    assert!(reactor.protocol.delivered < TOTAL);

    // The peer reads: the queue drains, reading resumes, and everything
    // comes back.
    let reading = std::thread::spawn(move || {
        let mut back = vec![0u8; TOTAL];
        peer.read_exact(&mut back)
            .map(|()| back.iter().all(|&b| b == 1))
    });
    turn_until(&mut reactor, 100_000, |r| {
        r.protocol.delivered == TOTAL && { r.io.conns.iter().all(|(_, c)| c.output.is_empty()) }
    })?;
    pushing.join().map_err(|_| "pusher thread panicked")??;
    assert!(
        reading.join().map_err(|_| "reader thread panicked")??,
        "the echoed bytes differ from what was sent"
    );
    Ok(())
}

#[test]
fn each_connection_knows_which_listener_accepted_it() -> TestResult {
    let (mut reactor, first) = listening(Config::default(), Recorder::default())?;
    let second = reactor.listen("127.0.0.1:0".parse()?)?;
    let _a = StdStream::connect(second)?;
    turn_until(&mut reactor, 100, |r| r.protocol.origins.len() == 1)?;
    let _b = StdStream::connect(first)?;
    turn_until(&mut reactor, 100, |r| r.protocol.origins.len() == 2)?;
    assert_eq!(
        reactor.protocol.origins,
        vec![Some(Origin::Listener(1)), Some(Origin::Listener(0))]
    );
    Ok(())
}

/// Takes one line per call and holds the rest for the next turn.
#[derive(Default)]
struct OneLinePerTurn {
    lines: Vec<Vec<u8>>,
}

impl Protocol for OneLinePerTurn {
    type Timer = ();

    fn on_input(&mut self, io: &mut Io<()>, conn: ConnId, input: &[u8]) -> usize {
        let Some(end) = input.iter().position(|&b| b == b'\n') else {
            return 0;
        };
        self.lines.push(input[..end].to_vec());
        io.hold_input(conn);
        end + 1
    }
}

#[test]
fn held_input_is_offered_again_next_turn_without_new_bytes() -> TestResult {
    let mut reactor = Reactor::new(Config::default(), OneLinePerTurn::default())?;
    let addr = reactor.listen("127.0.0.1:0".parse()?)?;
    let mut peer = StdStream::connect(addr)?;
    peer.write_all(b"one\ntwo\nthree\n")?;
    let mut events = Events::with_capacity(64);
    let mut per_turn = Vec::new();
    for _ in 0..1000 {
        let before = reactor.protocol.lines.len();
        reactor.io.timers.add(
            Instant::now() + Duration::from_millis(50),
            TimerKind::Protocol(()),
        );
        reactor.turn(&mut events)?;
        per_turn.push(reactor.protocol.lines.len() - before);
        if reactor.protocol.lines.len() == 3 {
            break;
        }
    }
    assert_eq!(
        reactor.protocol.lines,
        vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
    );
    assert!(
        per_turn.iter().all(|&n| n <= 1),
        "lines per turn {per_turn:?}"
    );
    Ok(())
}

/// The id of the one connection the loop holds.
fn only_connection(reactor: &Reactor<Recorder>) -> Result<ConnId, Box<dyn Error>> {
    let ids = reactor.io.conns.ids();
    match ids.as_slice() {
        [id] => Ok(*id),
        _ => Err(format!("expected one connection, found {ids:?}").into()),
    }
}

#[test]
fn a_stale_event_for_a_reused_slot_does_not_reach_the_new_connection() -> TestResult {
    let (mut reactor, addr) = listening(Config::default(), Recorder::default())?;
    let first = StdStream::connect(addr)?;
    turn_until(&mut reactor, 100, |r| r.io.conns.len() == 1)?;
    let old = only_connection(&reactor)?;
    drop(first);
    turn_until(&mut reactor, 100, |r| r.io.conns.is_empty())?;

    // A new connection takes the freed slot, with a new generation; its
    // peer's bytes wait in the kernel, unread.
    let mut second = StdStream::connect(addr)?;
    turn_until(&mut reactor, 100, |r| r.io.conns.len() == 1)?;
    let new = only_connection(&reactor)?;
    assert_eq!((new.index(), new == old), (old.index(), false));
    second.write_all(b"for the new connection")?;

    // A real readiness event carrying the old token (from a UDP socket
    // registered under it on a poll of our own), handed to the loop as if
    // it had been left over in a batch.
    let mut poll = Poll::new()?;
    let mut socket = mio::net::UdpSocket::bind("127.0.0.1:0".parse()?)?;
    poll.registry()
        .register(&mut socket, old.token(), mio::Interest::READABLE)?;
    std::net::UdpSocket::bind("127.0.0.1:0")?.send_to(b"x", socket.local_addr()?)?;
    let mut events = Events::with_capacity(4);
    poll.poll(&mut events, Some(Duration::from_secs(5)))?;
    let stale = events.iter().next().ok_or("no event from the UDP socket")?;
    assert_eq!(stale.token(), old.token());
    reactor.dispatch(stale);
    assert_eq!(reactor.protocol.delivered, 0, "the stale event was read");

    // The new connection's own event still reads its bytes.
    turn_until(&mut reactor, 100, |r| r.protocol.delivered == 22)?;
    Ok(())
}

#[test]
fn a_close_gets_its_linger_from_the_close_not_from_the_last_byte() -> TestResult {
    let (mut reactor, addr) = listening(Config::default(), Recorder::default())?;
    let _peer = StdStream::connect(addr)?;
    turn_until(&mut reactor, 100, |r| r.io.conns.len() == 1)?;
    let id = only_connection(&reactor)?;
    // Output the peer does not read, and nothing moved for a long while.
    reactor.io.send(id, &vec![0u8; 16 * 1024 * 1024]);
    let now = reactor.io.now;
    if let Some(conn) = reactor.io.conns.get_mut(id) {
        conn.last_activity = now - Duration::from_secs(10);
    }
    reactor.io.close(id, CloseReason::Requested);
    let conn = reactor.io.conns.get(id).ok_or("closed at once")?;
    assert_eq!(conn.state, State::Closing);
    let deadline = conn.deadline(&reactor.io.config).ok_or("no deadline")?;
    assert!(
        deadline >= now + io::LINGER,
        "the close was overdue as it began: {:?} before now",
        now.saturating_duration_since(deadline)
    );
    Ok(())
}

#[test]
fn reading_resumes_once_the_queue_is_down_to_half_of_max_outbuf() -> TestResult {
    const MAX_OUTBUF: usize = 64 * 1024;
    let config = Config {
        max_outbuf: MAX_OUTBUF,
        ..Config::default()
    };
    let (mut reactor, addr) = listening(config, Recorder::default())?;
    // Small buffers on both sides, so that each flush moves a few KiB
    // and the queue's way down can be watched step by step.
    let peer = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    peer.set_recv_buffer_size(4096)?;
    peer.connect(&addr.into())?;
    let mut peer: StdStream = peer.into();
    turn_until(&mut reactor, 100, |r| r.io.conns.len() == 1)?;
    let id = only_connection(&reactor)?;
    if let Some(conn) = reactor.io.conns.get(id) {
        socket2::SockRef::from(&conn.stream).set_send_buffer_size(4096)?;
    }
    // Far more output than the limit, in 4 KiB chunks (a chunk's memory is
    // held until it is all sent, so the queue must shrink chunk by
    // chunk), then one byte of input: the read finds the queue over
    // --max-outbuf and pauses.
    for _ in 0..64 {
        reactor.io.queue(id, &[b'o'; 4096]);
    }
    peer.write_all(b"i")?;
    let state = |r: &Reactor<Recorder>| r.io.conns.get(id).map(|c| c.state);
    turn_until(&mut reactor, 100, |r| state(r) == Some(State::Paused))?;

    // The peer reads 1 KiB at a time; after each read, one turn.
    peer.set_nonblocking(true)?;
    let mut buf = [0u8; 1024];
    let mut events = Events::with_capacity(64);
    let mut paused_at = Vec::new();
    for _ in 0..10_000 {
        let _ = peer.read(&mut buf);
        reactor.io.timers.add(
            Instant::now() + Duration::from_millis(10),
            TimerKind::Protocol(()),
        );
        reactor.turn(&mut events)?;
        let conn = reactor.io.conns.get(id).ok_or("connection gone")?;
        let footprint = conn.output.footprint();
        match conn.state {
            State::Paused => paused_at.push(footprint),
            State::Open => {
                // Resumed at half, not before, and not only once empty.
                assert!(footprint <= MAX_OUTBUF / 2, "resumed at {footprint} B");
                assert!(footprint > 0, "resumed only once the queue was empty");
                assert!(
                    paused_at.iter().all(|&f| f > MAX_OUTBUF / 2),
                    "still paused at {paused_at:?}"
                );
                assert!(paused_at.len() > 2, "the queue fell in one step");
                return Ok(());
            }
            other => return Err(format!("state {other}").into()),
        }
    }
    Err("reading never resumed".into())
}

/// Counts what another thread handed over, each time the loop is woken.
struct Inbox {
    handed_over: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    seen: usize,
}

impl Protocol for Inbox {
    type Timer = ();

    fn on_input(&mut self, _io: &mut Io<()>, _conn: ConnId, input: &[u8]) -> usize {
        input.len()
    }

    fn on_wake(&mut self, _io: &mut Io<()>) {
        self.seen = self.handed_over.load(std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn coalesced_wakes_never_leave_work_unseen() -> TestResult {
    use std::sync::atomic::{AtomicUsize, Ordering};
    const HANDOVERS: usize = 20_000;
    let handed_over = std::sync::Arc::new(AtomicUsize::new(0));
    let protocol = Inbox {
        handed_over: handed_over.clone(),
        seen: 0,
    };
    let mut reactor = Reactor::new(Config::default(), protocol)?;
    let handle = reactor.handle();
    // Hand work over as fast as a thread can, while the loop turns: most
    // wakes find one pending and make no system call.
    let sender = std::thread::spawn(move || {
        for _ in 0..HANDOVERS {
            handed_over.fetch_add(1, Ordering::SeqCst);
            handle.wake();
        }
    });
    // Turn while the sender runs (each turn sleeps until woken, or 50 ms).
    let mut events = Events::with_capacity(64);
    while !sender.is_finished() {
        reactor.io.timers.add(
            Instant::now() + Duration::from_millis(50),
            TimerKind::Protocol(()),
        );
        reactor.turn(&mut events)?;
    }
    sender.join().map_err(|_| "sender thread panicked")?;
    // All handed over: the last wake must bring the loop round at once,
    // not the 2 s timer that only bounds a lost wake.
    let started = Instant::now();
    for _ in 0..2 {
        if reactor.protocol.seen == HANDOVERS {
            break;
        }
        reactor.io.timers.add(
            Instant::now() + Duration::from_secs(2),
            TimerKind::Protocol(()),
        );
        reactor.turn(&mut events)?;
    }
    assert_eq!(
        reactor.protocol.seen, HANDOVERS,
        "work handed over and never seen"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the loop saw the last work only when its timer fired: a wake was lost"
    );
    Ok(())
}
