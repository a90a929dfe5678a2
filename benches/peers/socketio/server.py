"""A Socket.IO chat server on ``python-socketio`` and ``aiohttp``, the way
a Python Socket.IO tutorial writes one, with the events a fan-out needs:
on connect a ``notice`` welcome and everyone in ``lobby``; ``message``
text to the others of the room as ``{from, text}``, acknowledged with
``{ok: true}``. The server our Python readers would write, beside
``reactor chat --web`` (benches/sio.sh).

    python3 server.py --bind 127.0.0.1:0

prints ``listening on http://127.0.0.1:PORT`` once, then serves until
SIGTERM or SIGINT.
"""

import argparse
import asyncio
import itertools
import signal

import socketio
from aiohttp import web

sio = socketio.AsyncServer(async_mode="aiohttp", max_http_buffer_size=1_000_000)
app = web.Application()
sio.attach(app)
guests = itertools.count(1)
names = {}


@sio.event
async def connect(sid, environ, auth=None):
    name = f"guest-{next(guests)}"
    names[sid] = name
    await sio.enter_room(sid, "lobby")
    # The welcome only: what is measured is the fan-out of messages, not a
    # thousand arrivals told to a thousand members while they connect.
    await sio.emit("notice", {"text": f"welcome {name}, you are in #lobby"}, to=sid)


@sio.event
async def message(sid, text):
    await sio.emit("message", {"from": names.get(sid, "?"), "text": str(text)},
                   room="lobby", skip_sid=sid)
    return {"ok": True}


@sio.event
async def disconnect(sid, *args):
    names.pop(sid, None)


async def main(bind):
    host, port = bind.rsplit(":", 1)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, host, int(port))
    await site.start()
    sock = site._server.sockets[0].getsockname()
    print(f"listening on http://{sock[0]}:{sock[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bind", default="127.0.0.1:0")
    asyncio.run(main(parser.parse_args().bind))
