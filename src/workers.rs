//! One loop per core (`--workers N`), the way nginx scales: N threads, each
//! running its own single-threaded [`Reactor`] with its own listening
//! socket, all bound to the same address with `SO_REUSEPORT`, so the
//! kernel spreads new connections over them. Nothing is shared on the I/O
//! path: a connection lives and dies on the loop that accepted it.
//!
//! What the loops do share is small and off the hot path: a
//! [`LoopGroup`] (a signal reaching the first loop stops them all), a
//! [`StatsBoard`] (each loop copies its counters into its own slot once a
//! turn; the first loop's stats line and the summary add them up), and
//! whatever the protocol's factory gives each of them (chat: the directory
//! of names and rooms, and each other's inboxes).
//!
//! One readiness line in all, printed once every loop is listening and the
//! signal handlers are in place.

use std::net::{SocketAddr, TcpListener};
use std::sync::{mpsc, Arc};
use std::time::Instant;

use log::info;
use socket2::{Domain, Protocol as IpProtocol, Socket, Type};

use crate::event_loop::{bind_listener, Config, LoopGroup, Protocol, Reactor, Stats, StatsBoard};
use crate::process::{announce, raise_fd_limit, Failure};
use crate::server::{self, Listen};

/// How many loops `--workers N` means: N, or one per core for 0.
pub fn count(workers: u32) -> usize {
    match workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n as usize,
    }
}

/// A TCP listening socket on `addr` that other sockets may share
/// (`SO_REUSEPORT`), with the loop's usual backlog.
pub fn reuse_port_listener(addr: SocketAddr) -> std::io::Result<TcpListener> {
    bind_listener(addr, true)
}

/// A UDP socket on `addr` that other sockets may share (`SO_REUSEPORT`):
/// the kernel spreads datagrams over them by source address, so all the
/// datagrams of one client socket reach the same worker.
pub fn reuse_port_udp(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::DGRAM,
        Some(IpProtocol::UDP),
    )?;
    socket.set_reuse_port(true)?;
    socket.bind(&addr.into())?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Binds `workers` sockets on each address of `listen` (one, for an
/// address only the first worker serves); port 0 is resolved by the
/// first, and the others bind the port it got. Returns, for each
/// worker, its sockets (in `listen`'s order), and the addresses bound.
fn bind_all(
    listen: &[Listen],
    workers: usize,
) -> Result<(Vec<Vec<TcpListener>>, Vec<Listen>), Failure> {
    let mut per_worker: Vec<Vec<TcpListener>> = (0..workers).map(|_| Vec::new()).collect();
    let mut bound = Vec::new();
    for &Listen {
        scheme,
        addr,
        every_worker,
        tcp,
    } in listen
    {
        if !tcp {
            // A socket the protocol bound itself (UDP): announced only.
            bound.push(Listen::bound(scheme, addr));
            continue;
        }
        let mut real = addr;
        let takers = if every_worker { workers } else { 1 };
        for sockets in per_worker.iter_mut().take(takers) {
            let socket = reuse_port_listener(real)
                .map_err(|e| Failure::Error(format!("cannot bind {real}: {e}")))?;
            real = socket
                .local_addr()
                .map_err(|e| Failure::Error(format!("cannot read the address of {real}: {e}")))?;
            sockets.push(socket);
        }
        bound.push(Listen::on(scheme, real));
    }
    Ok((per_worker, bound))
}

/// What one worker reports once its loop is ready, or why it is not.
type Ready = Result<(), Failure>;

/// Runs `workers` loops of the protocol `make` builds (it is called on
/// each worker's thread with the worker's number, so a protocol need not
/// be `Send`; an error stops the server before it is announced),
/// listening on `listen`, until SIGINT/SIGTERM; then logs one summary of
/// them all. One worker is simply one loop on this thread
/// ([`server::serve`]).
pub fn serve<P, F>(
    name: &str,
    listen: &[Listen],
    config: Config,
    workers: usize,
    make: F,
) -> Result<(), Failure>
where
    P: Protocol,
    F: Fn(usize) -> Result<P, Failure> + Send + Sync + 'static,
{
    if workers <= 1 {
        return server::serve(name, listen, config, make(0)?);
    }
    raise_fd_limit();
    let (sockets, bound) = bind_all(listen, workers)?;
    let group = Arc::new(LoopGroup::default());
    let board = Arc::new(StatsBoard::new(workers));
    let make = Arc::new(make);
    let (ready_tx, ready_rx) = mpsc::channel::<Ready>();
    let mut threads = Vec::new();
    for (n, sockets) in sockets.into_iter().enumerate() {
        let (config, group, board, make, ready) = (
            config.clone(),
            Arc::clone(&group),
            Arc::clone(&board),
            Arc::clone(&make),
            ready_tx.clone(),
        );
        let thread = std::thread::Builder::new()
            .name(format!("worker-{n}"))
            .spawn(move || run_worker(n, sockets, config, group, board, || make(n), ready))
            .map_err(|e| Failure::Error(format!("cannot start worker {n}: {e}")))?;
        threads.push(thread);
    }
    drop(ready_tx);
    for _ in 0..workers {
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(failure)) => return Err(failure),
            Err(_) => return Err(Failure::Error("a worker ended before it was ready".into())),
        }
    }
    for &Listen { scheme, addr, .. } in &bound {
        announce(scheme, addr)?;
        info!("{name} server listening on {scheme}://{addr} with {workers} workers");
    }
    let started = Instant::now();
    let mut total = Stats::default();
    for thread in threads {
        match thread.join() {
            Ok(Ok(stats)) => total = total.plus(&stats),
            Ok(Err(failure)) => return Err(failure),
            Err(_) => return Err(Failure::Error("a worker thread panicked".into())),
        }
    }
    info!(
        "stopped after {:.1} s: {total} ({workers} workers)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One worker: its loop, its sockets; the first also takes the signals.
fn run_worker<P: Protocol>(
    n: usize,
    sockets: Vec<TcpListener>,
    config: Config,
    group: Arc<LoopGroup>,
    board: Arc<StatsBoard>,
    make: impl FnOnce() -> Result<P, Failure>,
    ready: mpsc::Sender<Ready>,
) -> Result<Stats, Failure> {
    let setup = || -> Result<Reactor<P>, Failure> {
        let mut reactor = Reactor::new(config, make()?)
            .map_err(|e| Failure::Error(format!("worker {n}: cannot start its loop: {e}")))?;
        for socket in sockets {
            reactor
                .listen_on(socket)
                .map_err(|e| Failure::Error(format!("worker {n}: cannot listen: {e}")))?;
        }
        if n == 0 {
            reactor
                .stop_on_signals()
                .map_err(|e| Failure::Error(format!("cannot install signal handlers: {e}")))?;
        }
        reactor.join_group(group);
        reactor.publish_stats(board, n);
        Ok(reactor)
    };
    let mut reactor = match setup() {
        Ok(reactor) => reactor,
        Err(failure) => {
            let _ = ready.send(Err(failure.clone()));
            return Err(failure);
        }
    };
    let _ = ready.send(Ok(()));
    reactor
        .run()
        .map_err(|e| Failure::Error(format!("worker {n}: event loop failed: {e}")))?;
    if let Some(signal) = reactor.second_signal() {
        // The first loop took the second signal: `serve` joins it first,
        // and the process ends with it, whatever the others still hold.
        return Err(Failure::Signal(signal));
    }
    Ok(*reactor.stats())
}
