#!/usr/bin/env python3
"""The echo server of Python's socket tutorial: the twin of e1_blocking.rs.

One client at a time: while `recv` sleeps for client A, client B waits in
the listen backlog. With --threads, each client gets a thread of its own,
which is what socketserver.ThreadingMixIn does: the twin of e2_threads.rs.

    python3 examples/python/blocking_echo_server.py [--bind HOST:PORT] [--threads]

Prints `listening on tcp://HOST:PORT` on stdout once it listens (port 0
picks a free port); everything else goes to stderr. Standard library only,
Python 3.9 or later.
"""

import argparse
import socket
import sys
import threading
import time

DEFAULT_BIND = "127.0.0.1:7000"
# Bytes asked for per recv: one memory page, as in the tutorial.
READ_SIZE = 4096
# Pause after a failed accept (out of file descriptors, say), so a failure
# that repeats does not spin the CPU.
ACCEPT_BACKOFF = 0.1


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


def bind(address):
    host, port = address
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    # Lets a restarted server bind while old connections sit in TIME_WAIT.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen()
    return listener


def echo(conn, peer):
    """Sends every byte back until the client closes. recv sleeps while the
    client is silent; sendall sleeps until the kernel has taken every byte."""
    with conn:
        try:
            while True:
                data = conn.recv(READ_SIZE)
                if not data:  # b"": the peer closed its side (Rust: Ok(0))
                    break
                conn.sendall(data)
        except OSError as e:  # reset, broken pipe: this client only
            log(f"{peer}: closed: {e}")
            return
    log(f"{peer}: closed")


def serve(listener, threads):
    while True:
        try:
            conn, peer = listener.accept()
        except OSError as e:  # one failed accept is no reason to stop
            log(f"accept failed: {e}")
            time.sleep(ACCEPT_BACKOFF)
            continue
        peer = format_address(peer)
        if not threads:
            log(f"{peer}: connected")
            echo(conn, peer)  # the next client waits until this one leaves
            continue
        # threading.active_count() includes the main thread.
        log(f"{peer}: connected (client threads: {threading.active_count()})")
        worker = threading.Thread(target=echo, args=(conn, peer), daemon=True)
        try:
            worker.start()
        except RuntimeError as e:  # "can't start new thread"
            log(f"{peer}: closed: no thread for it: {e}")
            conn.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", type=parse_address, default=DEFAULT_BIND,
                        help=f"address to listen on (default {DEFAULT_BIND})")
    parser.add_argument("--threads", action="store_true",
                        help="a thread per client instead of one at a time")
    args = parser.parse_args()
    try:
        listener = bind(args.bind)
    except OSError as e:
        log(f"error: cannot bind {format_address(args.bind)}: {e}")
        return 1
    print(f"listening on tcp://{format_address(listener.getsockname())}", flush=True)
    try:
        serve(listener, args.threads)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
