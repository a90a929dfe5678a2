"""TCP echo on Python's asyncio, written the way its documentation teaches:
an ``asyncio.Protocol`` whose ``data_received`` writes the bytes back.

This is the event loop our Python readers already know: the same idea as
``reactor`` (one thread, readiness callbacks, buffered writes), with the
loop and the transports written by the standard library.

Flow control, as a real server needs it: when a peer sends faster than it
reads, the transport's write buffer grows; above its high-water mark
asyncio calls ``pause_writing`` and we stop reading from that peer
(``pause_reading``) until ``resume_writing`` says the buffer drained. The
same rule ``reactor`` follows: never read more than you can send.

    python3 asyncio_echo.py --bind 127.0.0.1:0

prints ``listening on tcp://127.0.0.1:PORT`` once, then serves until
SIGTERM or SIGINT.
"""

import argparse
import asyncio
import signal
import socket
import sys


class Echo(asyncio.Protocol):
    """One connection: every byte received is written back."""

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Small replies leave at once, as reactor's do.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data):
        self.transport.write(data)

    def pause_writing(self):
        # The peer is not reading: stop reading from it too.
        self.transport.pause_reading()

    def resume_writing(self):
        self.transport.resume_reading()


def split_bind(text):
    """'HOST:PORT' or '[V6]:PORT' -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"--bind wants HOST:PORT, not {text!r}")
    return host.strip("[]"), int(port)


async def serve(host, port):
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    server = await loop.create_server(Echo, host, port, reuse_address=True)
    sock_host, sock_port = server.sockets[0].getsockname()[:2]
    shown = f"[{sock_host}]" if ":" in sock_host else sock_host
    print(f"listening on tcp://{shown}:{sock_port}", flush=True)
    await stop
    server.close()


def main():
    parser = argparse.ArgumentParser(description="asyncio.Protocol TCP echo")
    parser.add_argument("--bind", required=True, type=split_bind, metavar="HOST:PORT")
    host, port = parser.parse_args().bind
    try:
        asyncio.run(serve(host, port))
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
