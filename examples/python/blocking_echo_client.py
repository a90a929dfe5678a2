#!/usr/bin/env python3
"""The echo client of Python's socket tutorial, with its failures handled.

Sends each MESSAGE and prints what came back, one `received: ...` line
each. TCP is a byte stream, not a message queue: one recv may return part
of a message, so the client reads until it has as many bytes as it sent.

    python3 examples/python/blocking_echo_client.py HOST:PORT [MESSAGE ...] [--timeout SECS]

A refused connection (ConnectionRefusedError: nobody listens there) and a
server that does not answer in time (socket.timeout) are one `error:`
line on stderr and exit status 1. Standard library only, Python 3.9 or
later.
"""

import argparse
import os
import socket
import sys

DEFAULT_MESSAGES = ["hello", "world"]
READ_SIZE = 4096


def parse_address(text):
    """'127.0.0.1:7000' or '[::1]:7000' -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def receive_exactly(sock, size):
    """recv until `size` bytes have arrived; fewer only if the server closed."""
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(min(READ_SIZE, size - len(data)))
        if not chunk:  # b"": the server closed its side
            break
        data += chunk
    return bytes(data)


def run(address, messages, timeout):
    # create_connection applies the timeout to connect and to every
    # recv/sendall after it: a silent server raises socket.timeout.
    with socket.create_connection(address, timeout=timeout) as sock:
        for message in messages:
            sock.sendall(message)
            reply = receive_exactly(sock, len(message))
            if len(reply) < len(message):
                raise ConnectionError(f"server closed after {len(reply)} of {len(message)} bytes")
            out = sys.stdout.buffer
            out.write(b"received: " + reply + b"\n")
            out.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address", type=parse_address, help="server, e.g. 127.0.0.1:7000")
    parser.add_argument("messages", nargs="*", default=DEFAULT_MESSAGES,
                        help=f"what to send (default: {' '.join(DEFAULT_MESSAGES)})")
    parser.add_argument("--timeout", type=float, default=5.0,
                        help="seconds to wait for the server (default 5)")
    args = parser.parse_args()
    where = "{}:{}".format(*args.address)
    # The bytes as typed, whatever the locale (os.fsencode undoes argv decoding).
    messages = [os.fsencode(m) for m in args.messages]
    try:
        run(args.address, messages, args.timeout)
    except ConnectionRefusedError:
        print(f"error: connection refused by {where}: is the server running?", file=sys.stderr)
        return 1
    except socket.timeout:
        print(f"error: no answer from {where} within {args.timeout} s", file=sys.stderr)
        return 1
    except OSError as e:  # reset, unreachable, closed early
        print(f"error: {where}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
