// Drives the official Socket.IO client (socket.io-client) for the tests
// (tests/web_clients.rs), exactly as ../sio_driver.py drives
// python-socketio: the same commands on stdin, the same JSON lines on
// stdout, so one Rust conversation checks both libraries.
//
//     node sio_driver.js URL default|websocket|polling
//
//     {"connected": true, "transport": "polling"}  once connected
//     {"event": NAME, "args": [...]}               each server event
//     {"upgraded": "websocket"}                    the transport upgraded
//     {"op": "call", ...}        -> {"ack": E, "data": ...}
//     {"op": "emit", ...}        -> {"emitted": E}
//     {"op": "transport"}        -> {"transport": NAME}, after the upgrade
//                                   when one may still come
//     {"op": "disconnect"}       -> {"disconnected": true}, exit 0
//
// Every wait is bounded; a failure prints {"error": ...} and exits 1.

"use strict";

const readline = require("node:readline");
const { io } = require("socket.io-client");

const WAIT_MS = 10000; // bounds every wait; matters only when broken

const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

function fail(e) {
  out({ error: String(e && e.stack ? e.stack : e) });
  process.exit(1);
}

const [url, mode] = process.argv.slice(2);
const transports = { default: undefined, websocket: ["websocket"], polling: ["polling"] }[mode];
const socket = io(url, { transports, reconnection: false, timeout: WAIT_MS });

socket.onAny((event, ...args) => out({ event, args }));
// The upgrade, if the transports allow one, comes after the connection:
// a promise that settles when it happens (or fails after WAIT_MS).
let onUpgrade;
const upgradeDone = new Promise((resolve) => (onUpgrade = resolve));
socket.io.on("open", () => {
  socket.io.engine.on("upgrade", (transport) => {
    out({ upgraded: transport.name });
    onUpgrade();
  });
});
const upgraded = () =>
  Promise.race([
    upgradeDone,
    new Promise((_, reject) => setTimeout(() => reject(new Error("no upgrade")), WAIT_MS).unref()),
  ]);
socket.on("connect_error", fail);
socket.on("connect", () => {
  out({ connected: true, transport: socket.io.engine.transport.name });
  readCommands();
});

let lines;
let finishing = false;

function readCommands() {
  lines = readline.createInterface({ input: process.stdin });
  lines.on("line", (line) => run(JSON.parse(line)).catch(fail));
  lines.on("close", () => finishing || fail("stdin ended without a disconnect"));
}

async function run(command) {
  switch (command.op) {
    case "call": {
      const data = await socket.timeout(WAIT_MS).emitWithAck(command.event, ...command.args);
      out({ ack: command.event, data });
      break;
    }
    case "emit":
      socket.emit(command.event, ...command.args);
      out({ emitted: command.event });
      break;
    case "transport":
      if (mode === "default" && socket.io.engine.transport.name === "polling") {
        await upgraded();
      }
      out({ transport: socket.io.engine.transport.name });
      break;
    case "disconnect":
      // Not process.exit(): over polling the disconnect leaves in a POST
      // still under way. Node exits by itself once nothing is pending.
      finishing = true;
      socket.disconnect();
      out({ disconnected: true });
      lines.close();
      process.stdin.destroy();
      setTimeout(() => fail("still running after the disconnect"), WAIT_MS).unref();
      break;
    default:
      fail(`unknown op ${command.op}`);
  }
}
