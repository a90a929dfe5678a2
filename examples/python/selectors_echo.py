#!/usr/bin/env python3
"""An echo server on selectors, with a write buffer: the twin of e5_write_queue.rs.

One thread, non-blocking sockets, one selector. Each connection has a
write buffer: send() writes what the kernel takes and keeps the rest, and
the socket is registered for EVENT_WRITE only while that buffer is
non-empty. selectors are level-triggered, so a socket with room in its
send buffer is *always* writable: registered for EVENT_WRITE with nothing
to write, select() would return at once, every time, and the loop would
burn a core. Past MAX_QUEUED buffered bytes the connection stops reading
(EVENT_READ off) until the buffer drains: backpressure, what asyncio's
pause_writing() is for.

    python3 examples/python/selectors_echo.py [--bind HOST:PORT]

Prints `listening on tcp://HOST:PORT` on stdout once it listens (port 0
picks a free port); everything else goes to stderr. Standard library only,
Python 3.9 or later.
"""

import argparse
import selectors
import socket
import sys

DEFAULT_BIND = "127.0.0.1:7000"
READ_SIZE = 4096
# Buffered bytes past which a connection stops reading: asyncio's default
# high-water mark, and MAX_QUEUED in e5_write_queue.rs.
MAX_QUEUED = 64 * 1024


def parse_address(text):
    """'127.0.0.1:7000' or '[::1]:7000' -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def format_address(sockname):
    host, port = sockname[0], sockname[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def log(message):
    print(message, file=sys.stderr, flush=True)


class Connection:
    """One client, and what it is owed (the Rust `Connection`)."""

    def __init__(self, sock, peer):
        self.sock = sock
        self.peer = peer
        self.queue = bytearray()  # sent but not yet taken by the kernel
        self.peer_closed = False  # recv gave b"": nothing more to read
        self.events = selectors.EVENT_READ  # what the selector watches now

    def wants_input(self):
        return not self.peer_closed and len(self.queue) < MAX_QUEUED

    def wanted_events(self):
        """From the state alone: READ while more input fits, WRITE only while
        something is queued. Never neither: not reading means a full queue,
        or bytes owed to a peer that closed (with none owed it is closed)."""
        events = 0
        if self.wants_input():
            events |= selectors.EVENT_READ
        if self.queue:
            events |= selectors.EVENT_WRITE
        return events


class Server:
    def __init__(self, listener):
        self.listener = listener
        self.selector = selectors.DefaultSelector()
        # data=None marks the listener; a connection's data is its Connection,
        # which plays the part of the Rust token.
        self.selector.register(listener, selectors.EVENT_READ, data=None)

    def run(self):
        while True:
            for key, _mask in self.selector.select():
                if key.data is None:
                    self.accept_all()
                else:
                    self.on_ready(key.data)

    def accept_all(self):
        while True:
            try:
                sock, peer = self.listener.accept()
            except BlockingIOError:  # the backlog is empty (Rust: WouldBlock)
                return
            except OSError as e:  # one failed accept is no reason to stop
                log(f"accept failed: {e}")
                return
            sock.setblocking(False)
            conn = Connection(sock, format_address(peer))
            self.selector.register(sock, conn.events, data=conn)
            log(f"{conn.peer}: connected")

    def on_ready(self, conn):
        """Write what is queued, read once, echo it. One recv per event is
        enough here: select is level-triggered and reports the socket again
        while bytes wait (mio is edge-triggered: see e4 and e7)."""
        try:
            self.flush(conn)
            if conn.wants_input():
                try:
                    data = conn.sock.recv(READ_SIZE)
                except BlockingIOError:  # readiness was stale: nothing there
                    data = None
                if data == b"":  # the peer closed its side; it may be owed bytes
                    conn.peer_closed = True
                elif data:
                    self.send(conn, data)
            if conn.peer_closed and not conn.queue:
                self.close(conn)
            else:
                self.update_interest(conn)
        except OSError as e:  # reset, broken pipe: this client only
            self.close(conn, e)

    def send(self, conn, data):
        """Queue behind what already waits, then write what the kernel takes
        (what asyncio's transport.write does)."""
        conn.queue += data
        self.flush(conn)

    def flush(self, conn):
        while conn.queue:
            try:
                sent = conn.sock.send(conn.queue)
            except BlockingIOError:  # the send buffer is full: wait for EVENT_WRITE
                return
            del conn.queue[:sent]

    def update_interest(self, conn):
        wanted = conn.wanted_events()
        if wanted != conn.events:
            self.selector.modify(conn.sock, wanted, data=conn)
            conn.events = wanted

    def close(self, conn, error=None):
        # Unregister *before* close: the selector keys its map by file
        # descriptor, and a closed descriptor's number is soon someone
        # else's (selectors_fd_reuse.py shows it).
        self.selector.unregister(conn.sock)
        conn.sock.close()
        log(f"{conn.peer}: closed" + (f": {error}" if error else ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", type=parse_address, default=DEFAULT_BIND,
                        help=f"address to listen on (default {DEFAULT_BIND})")
    args = parser.parse_args()
    host, port = args.bind
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.create_server((host, port), family=family)
    except OSError as e:
        log(f"error: cannot bind {format_address(args.bind)}: {e}")
        return 1
    listener.setblocking(False)
    print(f"listening on tcp://{format_address(listener.getsockname())}", flush=True)
    try:
        Server(listener).run()
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
