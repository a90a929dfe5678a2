#!/usr/bin/env python3
"""An echo server of coroutines on asyncio's sock_* calls: the twin of e9_async.

The echo is the blocking loop of blocking_echo_server.py with `await` in
front of each call that could sleep. Underneath, `await loop.sock_recv(sock,
n)` does what e9's `read` future does: it tries recv() at once, and on
BlockingIOError registers the socket with the selector (loop.add_reader)
and suspends the coroutine on a future that the reader callback completes
when the socket is readable. `asyncio.create_task` is e9's
`Spawner::spawn`; the event loop is its executor and driver in one.

    python3 examples/python/asyncio_sock_echo.py [--bind HOST:PORT]

Prints `listening on tcp://HOST:PORT` on stdout once it listens (port 0
picks a free port); everything else goes to stderr. Standard library only,
Python 3.9 or later.
"""

import argparse
import asyncio
import socket
import sys

DEFAULT_BIND = "127.0.0.1:7000"
READ_SIZE = 4096


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


async def echo(loop, sock):
    """e9's `async fn echo`, line for line."""
    with sock:
        while True:
            data = await loop.sock_recv(sock, READ_SIZE)
            if not data:  # b"": the peer closed its side, and is owed nothing
                return
            await loop.sock_sendall(sock, data)


async def report(loop, sock, peer):
    try:
        await echo(loop, sock)
        log(f"{peer}: closed")
    except OSError as e:  # reset, broken pipe: this client only
        log(f"{peer}: closed: {e}")


async def serve(listener):
    """e9's `serve`: the accept loop is a coroutine too."""
    loop = asyncio.get_running_loop()
    tasks = set()  # asyncio keeps only weak references to tasks
    while True:
        sock, peer = await loop.sock_accept(listener)
        sock.setblocking(False)
        peer = format_address(peer)
        log(f"{peer}: connected")
        task = asyncio.create_task(report(loop, sock, peer))
        tasks.add(task)
        task.add_done_callback(tasks.discard)


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
    listener.setblocking(False)  # the sock_* calls require it
    print(f"listening on tcp://{format_address(listener.getsockname())}", flush=True)
    try:
        asyncio.run(serve(listener))
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
