#!/usr/bin/env python3
"""An asyncio.Protocol echo server with flow control: what e5 to e8 build by hand.

asyncio's loop is the reactor of e8_timers.rs with the parts hidden:
- data_received() is the handler a readiness event runs (e4);
- transport.write() queues what the kernel does not take and watches for
  EVENT_WRITE only while its buffer is non-empty (e5);
- past the buffer's high-water mark (64 KiB) the transport calls
  pause_writing(), and this protocol answers with transport.pause_reading():
  it stops reading from a client that does not read its echoes, until
  resume_writing() says the buffer drained (e5's MAX_QUEUED);
- the loop reads once per readiness and lets level-triggered select report
  the socket again (e7's budget, with the kernel keeping the list);
- loop.call_later() is a timer in a heap whose first deadline bounds
  select's timeout; --idle-timeout closes silent clients with one (e8).

    python3 examples/python/asyncio_protocol_echo.py [--bind HOST:PORT] [--idle-timeout SECS]

Prints `listening on tcp://HOST:PORT` on stdout once it listens (port 0
picks a free port); everything else goes to stderr. Standard library only,
Python 3.9 or later.
"""

import argparse
import asyncio
import socket
import sys

DEFAULT_BIND = "127.0.0.1:7000"


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


class EchoProtocol(asyncio.Protocol):
    """One connection. asyncio calls these methods; none of them may block."""

    def __init__(self, idle_timeout):
        self.idle_timeout = idle_timeout  # seconds, or 0 for never
        self.transport = None
        self.peer = "?"
        self.last_active = 0.0
        self.idle_timer = None

    def connection_made(self, transport):
        self.transport = transport
        self.peer = format_address(transport.get_extra_info("peername"))
        log(f"{self.peer}: connected")
        if self.idle_timeout:
            loop = asyncio.get_running_loop()
            self.last_active = loop.time()
            self.idle_timer = loop.call_later(self.idle_timeout, self.on_idle_timer)

    def data_received(self, data):
        self.last_active = asyncio.get_running_loop().time()
        # Never blocks: what the kernel does not take now is buffered.
        self.transport.write(data)

    def eof_received(self):
        # The peer closed its side (recv gave b""). Returning False lets the
        # transport close, once its buffer is written: the echo is owed.
        return False

    def pause_writing(self):
        # The write buffer passed its high-water mark: stop reading, so a
        # client that sends without reading cannot grow it further.
        log(f"{self.peer}: buffer full, reading paused")
        self.transport.pause_reading()

    def resume_writing(self):
        # The buffer drained below its low-water mark: read again.
        log(f"{self.peer}: buffer drained, reading resumed")
        self.transport.resume_reading()

    def on_idle_timer(self):
        # As in e8, the timer is not moved on every read: it fires, and if
        # bytes came since, it is set again from the last activity.
        loop = asyncio.get_running_loop()
        due = self.last_active + self.idle_timeout
        if due > loop.time():
            self.idle_timer = loop.call_at(due, self.on_idle_timer)
            return
        log(f"{self.peer}: closed: idle for {self.idle_timeout} s")
        # abort(), not close(): close() would first wait for the buffer to
        # be written, and an idle client may never read it.
        self.transport.abort()

    def connection_lost(self, exc):
        if self.idle_timer is not None:
            self.idle_timer.cancel()  # as e8's close() cancels its timer
        if exc is None:
            log(f"{self.peer}: closed")
        else:
            log(f"{self.peer}: closed: {exc}")


async def serve(host, port, idle_timeout):
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        server = await loop.create_server(lambda: EchoProtocol(idle_timeout), host, port,
                                          family=family)
    except OSError as e:
        log(f"error: cannot bind {format_address((host, port))}: {e}")
        return 1
    address = format_address(server.sockets[0].getsockname())
    print(f"listening on tcp://{address}", flush=True)
    async with server:
        await server.serve_forever()
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", type=parse_address, default=DEFAULT_BIND,
                        help=f"address to listen on (default {DEFAULT_BIND})")
    parser.add_argument("--idle-timeout", type=float, default=0.0, metavar="SECS",
                        help="close a client silent that long (default 0: never)")
    args = parser.parse_args()
    if args.idle_timeout < 0:
        parser.error("--idle-timeout must be >= 0")
    host, port = args.bind
    try:
        return asyncio.run(serve(host, port, args.idle_timeout))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
