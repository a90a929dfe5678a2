#!/usr/bin/env python3
"""An asyncio streams client: sends lines, prints the replies.

Each LINE (or, with none given, each line of stdin) is sent with a "\\n";
the client then waits for one line back and prints it. `await` marks every
place where the coroutine gives the loop back until its socket is ready:
the same readiness events as e4_mio.rs, with the state kept in the
suspended coroutine instead of a Connection struct. writer.drain() is
flow control: it waits while the transport's buffer is above its
high-water mark (e5).

    python3 examples/python/asyncio_streams_client.py HOST:PORT [LINE ...] [--timeout SECS]

A refused connection, a reset, or no reply within --timeout is one
`error:` line on stderr and exit status 1. Standard library only, Python
3.9 or later.
"""

import argparse
import asyncio
import os
import sys


def parse_address(text):
    """'127.0.0.1:7000' or '[::1]:7000' -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


async def exchange(host, port, lines, timeout):
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        for line in lines:
            writer.write(line + b"\n")
            await writer.drain()
            reply = await asyncio.wait_for(reader.readline(), timeout)
            if not reply.endswith(b"\n"):  # b"" or a partial line: the server closed
                raise ConnectionError("server closed the connection")
            sys.stdout.buffer.write(reply)
            sys.stdout.buffer.flush()
    finally:
        writer.close()
        await writer.wait_closed()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address", type=parse_address, help="server, e.g. 127.0.0.1:7000")
    parser.add_argument("lines", nargs="*", help="lines to send (default: stdin's lines)")
    parser.add_argument("--timeout", type=float, default=5.0,
                        help="seconds to wait for the server (default 5)")
    args = parser.parse_args()
    host, port = args.address
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if args.lines:
        # The bytes as typed, whatever the locale (os.fsencode undoes argv decoding).
        lines = [os.fsencode(line) for line in args.lines]
    else:
        lines = [line.rstrip(b"\n") for line in sys.stdin.buffer]
    try:
        asyncio.run(exchange(host, port, lines, args.timeout))
    except ConnectionRefusedError:
        print(f"error: connection refused by {where}: is the server running?", file=sys.stderr)
        return 1
    except asyncio.TimeoutError:
        print(f"error: no answer from {where} within {args.timeout} s", file=sys.stderr)
        return 1
    except OSError as e:  # reset, unreachable, closed early
        print(f"error: {where}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
