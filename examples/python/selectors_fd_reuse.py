#!/usr/bin/env python3
"""A file descriptor number reused after close: the problem that
generations solve in e6_tokens.rs.

The kernel gives every new socket the lowest free descriptor number, so
the number of a connection just closed goes to the next one accepted.
Anything keyed by the number alone (a dict of per-connection state, the
selector's own map, an event computed before the close) then meets the
new connection. This script makes it happen on purpose with two clients
of its own, prints each step, and shows the fix: key by (number,
generation), as e6_tokens.rs keys by (slot, generation).

    python3 examples/python/selectors_fd_reuse.py [--bind HOST:PORT]

It listens on --bind (default 127.0.0.1:0: a free port), prints
`listening on tcp://HOST:PORT` like the servers, connects to itself,
prints what happened and exits 0. Standard library only, Python 3.9 or
later.
"""

import argparse
import selectors
import socket
import sys

DEFAULT_BIND = "127.0.0.1:0"


def parse_address(text):
    """'127.0.0.1:7000' or '[::1]:7000' -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def format_address(sockname):
    host, port = sockname[0], sockname[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def say(message):
    print(message, flush=True)


def demonstrate(listener):
    selector = selectors.DefaultSelector()
    address = listener.getsockname()[:2]
    state_by_fd = {}  # the bug: per-connection state keyed by the number alone
    generation_of = {}  # the fix: which occupant of each number is current
    next_generation = 1

    # Client A connects; the server accepts it and starts a line.
    client_a = socket.create_connection(address)
    conn_a, _ = listener.accept()
    fd = conn_a.fileno()
    generation_of[fd] = next_generation
    next_generation += 1
    state_by_fd[fd] = {"client": "A", "half_line": b"hel"}
    selector.register(conn_a, selectors.EVENT_READ)
    stale_token = (fd, generation_of[fd])  # an event that names A, kept for later
    say(f"client A accepted as fd {fd} (generation {generation_of[fd]})")

    # Client B connects while A is still open: it waits in the backlog.
    client_b = socket.create_connection(address)

    # A is closed the careless way: no selector.unregister, no `del state_by_fd[fd]`.
    conn_a.close()
    say(f"client A closed; fd {fd} is free")

    conn_b, _ = listener.accept()
    fd_b = conn_b.fileno()
    generation_of[fd_b] = next_generation
    next_generation += 1
    if fd_b != fd:
        say(f"client B accepted as fd {fd_b}: fd {fd} was not reused this time")
        return 1
    say(f"client B accepted as fd {fd_b} (generation {generation_of[fd_b]}): the number was reused")

    # 1. Keyed by fd alone, B inherits A's state.
    say(f"keyed by fd: B inherits A's state {state_by_fd[fd_b]}")

    # 2. The selector keys its map by fd too: A's entry is still there.
    try:
        selector.register(conn_b, selectors.EVENT_READ)
        say("keyed by fd: the selector took B (this platform forgot A's entry)")
    except KeyError as e:
        say(f"keyed by fd: selector.register(B) fails: KeyError: {e}")

    # 3. An event computed for A, delivered now: by fd it reaches B; the
    #    generation says it is stale.
    stale_fd, stale_generation = stale_token
    say(f"keyed by fd: an event for A's fd {stale_fd} runs B's handler")
    current = generation_of[stale_fd]
    if stale_generation != current:
        say(f"keyed by (fd, generation): the event for ({stale_fd}, {stale_generation}) "
            f"is dropped; fd {stale_fd} now holds generation {current}")

    for sock in (conn_b, client_a, client_b):
        sock.close()
    selector.close()
    return 0


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
        print(f"error: cannot bind {format_address(args.bind)}: {e}", file=sys.stderr)
        return 1
    with listener:
        say(f"listening on tcp://{format_address(listener.getsockname())}")
        return demonstrate(listener)


if __name__ == "__main__":
    sys.exit(main())
