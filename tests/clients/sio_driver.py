"""Drives python-socketio's client for the tests (tests/web_clients.rs).

    python3 sio_driver.py URL default|websocket|polling

The test writes one JSON command per line on stdin; this prints one JSON
object per line on stdout for everything the client sees:

    {"connected": true, "transport": "websocket"}   once connected
    {"event": NAME, "args": [...]}                  each server event
    {"op": "call", "event": E, "args": [...]}   ->  {"ack": E, "data": ...}
    {"op": "emit", "event": E, "args": [...]}   ->  {"emitted": E}
    {"op": "transport"}                         ->  {"transport": NAME}, after
                                                    the upgrade if one may come
    {"op": "disconnect"}                        ->  {"disconnected": true}, exit 0

The conversation and its checks are in the Rust test; this file only
translates, so the same test drives every client library. Every wait is
bounded; a failure prints {"error": ...} and exits 1.
"""

import json
import sys
import threading
import time

import socketio

WAIT = 10  # seconds: bounds every wait, matters only when broken
_lock = threading.Lock()


def out(obj):
    # Handlers run on the client's threads: one line at a time.
    with _lock:
        print(json.dumps(obj, ensure_ascii=False), flush=True)


def data_of(args):
    """python-socketio sends one argument as is, several as a tuple."""
    if not args:
        return None
    return args[0] if len(args) == 1 else tuple(args)


def await_upgrade(sio):
    """python-engineio upgrades inside connect(), so this returns at once;
    should a version do it later, wait (bounded) rather than fail."""
    deadline = time.monotonic() + WAIT
    while sio.transport() != "websocket" and time.monotonic() < deadline:
        time.sleep(0.05)


def main():
    url, mode = sys.argv[1], sys.argv[2]
    transports = {"default": None, "websocket": ["websocket"], "polling": ["polling"]}[mode]
    sio = socketio.Client(reconnection=False)

    @sio.on("*")
    def any_event(event, *args):
        out({"event": event, "args": list(args)})

    sio.connect(url, transports=transports, wait_timeout=WAIT)
    out({"connected": True, "transport": sio.transport()})
    for line in sys.stdin:
        command = json.loads(line)
        op = command["op"]
        if op == "call":
            data = sio.call(command["event"], data_of(command["args"]), timeout=WAIT)
            out({"ack": command["event"], "data": data})
        elif op == "emit":
            sio.emit(command["event"], data_of(command["args"]))
            out({"emitted": command["event"]})
        elif op == "transport":
            if mode == "default":
                await_upgrade(sio)
            out({"transport": sio.transport()})
        elif op == "disconnect":
            sio.disconnect()
            out({"disconnected": True})
            return
        else:
            raise ValueError(f"unknown op {op!r}")
    raise EOFError("stdin ended without a disconnect")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # reported to the test, which shows it
        out({"error": f"{type(e).__name__}: {e}"})
        sys.exit(1)
