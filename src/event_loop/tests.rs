//! The loop's own mechanics, tested turn by turn over real loopback
//! sockets: the read budget with its still-ready list, and backpressure.
//! These drive `Reactor::turn` directly, so they can look at the loop
//! between turns instead of only at what comes out of a socket.

use std::error::Error;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream as StdStream};
use std::time::Duration;

use mio::Events;

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
