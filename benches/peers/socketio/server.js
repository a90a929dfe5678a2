// A Socket.IO chat server on node's official `socket.io` package, written
// the way its documentation teaches, with the events reactor's chat
// speaks that a fan-out needs: on connect a `notice` welcome, and everyone
// in `lobby`; `message` text to the others of the room as
// {from, text}, acknowledged with {ok: true}. The peer most Socket.IO
// users run, beside `reactor chat --web` (benches/sio.sh).
//
//   node server.js --bind 127.0.0.1:0
//
// prints `listening on http://127.0.0.1:PORT` once, then serves until
// SIGTERM or SIGINT.
"use strict";
const http = require("http");
const { Server } = require("socket.io");

const i = process.argv.indexOf("--bind");
const bind = i > 0 ? process.argv[i + 1] : "127.0.0.1:0";
const [host, port] = [bind.slice(0, bind.lastIndexOf(":")), Number(bind.slice(bind.lastIndexOf(":") + 1))];

const server = http.createServer();
const io = new Server(server, { maxHttpBufferSize: 1e6 });
let guests = 0;

io.on("connection", (socket) => {
  const name = `guest-${++guests}`;
  socket.join("lobby");
  // The welcome only: what is measured is the fan-out of messages, not
  // a thousand arrivals told to a thousand members while they connect.
  socket.emit("notice", { text: `welcome ${name}, you are in #lobby` });
  socket.on("message", (text, ack) => {
    socket.to("lobby").emit("message", { from: name, text: String(text) });
    if (typeof ack === "function") ack({ ok: true });
  });
});

server.listen(port, host, () => {
  const a = server.address();
  process.stdout.write(`listening on http://${a.address}:${a.port}\n`);
});
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(0));
