"""Drives Python's `websockets` client on /ws for the tests
(tests/web_clients.rs).

    python3 ws_driver.py ws://HOST:PORT/ws

Each text frame received is printed as {"text": ...}, one JSON object per
line; when the server closes, {"closed": CODE}. Commands, one JSON object
per line on stdin:

    {"op": "send", "text": T}   sends T as one text frame -> {"sent": true}
    {"op": "close"}             the close handshake, then exit 0

Every wait is bounded; a failure prints {"error": ...} and exits 1.
"""

import json
import sys
import threading

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

WAIT = 10  # seconds
_lock = threading.Lock()


def out(obj):
    with _lock:
        print(json.dumps(obj, ensure_ascii=False), flush=True)


def read_all(ws):
    try:
        for message in ws:
            out({"text": message})
    except ConnectionClosed:
        pass
    out({"closed": ws.close_code})


def main():
    with connect(sys.argv[1], open_timeout=WAIT, close_timeout=WAIT) as ws:
        reader = threading.Thread(target=read_all, args=(ws,), daemon=True)
        reader.start()
        for line in sys.stdin:
            command = json.loads(line)
            if command["op"] == "send":
                ws.send(command["text"])
                out({"sent": True})
            elif command["op"] == "close":
                ws.close()
                reader.join(WAIT)
                return
            else:
                raise ValueError(f"unknown op {command['op']!r}")
        raise EOFError("stdin ended without a close")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:
        out({"error": f"{type(e).__name__}: {e}"})
        sys.exit(1)
