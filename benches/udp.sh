#!/usr/bin/env bash
# UDP echo against its floor, and a burst against its buffers.
#
#   benches/udp.sh [ROUNDS=3] [SECONDS=5]
#
# 1. Round trips: `reactor udp-echo` and benches/udp_floor.c (blocking
#    recvfrom then sendto, one datagram per system call), alternated
#    round by round, each pinned to CPU 0 while `reactor load --mode udp`
#    runs on CPU 1: the `small` profile, 64-byte datagrams from 50 sockets
#    in closed loop (one in flight each). Per run: round trips per second
#    from the load report, and the server's CPU time (utime + stime from
#    /proc/PID/stat, before and after) per round trip.
# 2. A burst: 2,000 datagrams of 1,400 bytes from 4 sockets as fast as
#    they go (benches/udp_burst.c), at reactor with its default buffers,
#    at reactor with the kernel's default buffer (--recv-buffer 0), and at
#    the floor; the change of the Udp RcvbufErrors counter of
#    /proc/net/snmp around each.
#
# On a machine shared with other work, the wake-up latency of a busy CPU
# sets the pace of a closed loop, not the server (the load report's p99
# latency in milliseconds says so). FIFO=1 (root) runs the servers and the
# load under SCHED_FIFO (chrt -f 1), ahead of ordinary processes, for the
# seconds a run lasts; they block on their sockets between datagrams, and
# the kernel's real-time throttling keeps 5% of each CPU for the others.
#
# RcvbufErrors counts for the whole machine: other traffic on it shows up
# too. Quote ratios from one run, not absolutes: a shared machine drifts.
# Everything talks to 127.0.0.1 only, is bounded in time, and stops the
# servers it started. Linux only (taskset, /proc).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
seconds="${2:-5}"

cargo build --release -q
reactor="$PWD/target/release/reactor"
out="$PWD/target/udp-bench"
mkdir -p "$out"
cc -O2 -o "$out/udp_floor" benches/udp_floor.c
cc -O2 -o "$out/udp_burst" benches/udp_burst.c
hz="$(getconf CLK_TCK)"
priority=()
[ "${FIFO:-0}" = 1 ] && priority=(chrt -f 1)
pin0=("${priority[@]}" taskset -c 0)
pin1=("${priority[@]}" taskset -c 1)

server_pid=""
stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
trap stop_server EXIT

# start_server NAME: starts it on CPU 0 on a free port; sets server_pid
# and addr from its readiness line (`listening on udp://ADDR`).
start_server() {
  local ready="$out/ready"
  rm -f "$ready"
  case "$1" in
    reactor) "${pin0[@]}" "$reactor" udp-echo --bind 127.0.0.1:0 >"$ready" 2>"$out/log" & ;;
    reactor-default-buffer)
      "${pin0[@]}" "$reactor" -q udp-echo --recv-buffer 0 --send-buffer 0 --bind 127.0.0.1:0 >"$ready" & ;;
    floor) "${pin0[@]}" "$out/udp_floor" 127.0.0.1:0 >"$ready" & ;;
  esac
  server_pid=$!
  for _ in $(seq 100); do
    grep -q listening "$ready" 2>/dev/null && break
    sleep 0.05
  done
  addr="$(sed -n 's#^listening on udp://##p' "$ready")"
  [ -n "$addr" ] || { echo "udp.sh: $1 did not start" >&2; exit 1; }
}

# CPU ticks (user + system) the server has used so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }

rcvbuf_errors() {
  awk '$1 == "Udp:" { if (!h) { for (i = 2; i <= NF; i++) c[$i] = i; h = 1 } else print $(c["RcvbufErrors"]) }' /proc/net/snmp
}

echo "== round trips: 64-byte datagrams, 50 sockets, closed loop, ${seconds} s per run"
declare -A total_ops total_ticks
for round in $(seq "$rounds"); do
  for name in reactor floor; do
    start_server "$name"
    before="$(cpu_ticks)"
    report="$("${pin1[@]}" "$reactor" -q load "$addr" --mode udp --connections 50 --size 64 \
      --duration "$seconds" --warmup 0 --json)" || true
    after="$(cpu_ticks)"
    stop_server
    # The summary's datagrams per loop turn: how full the batches were.
    per_turn=""
    if [ -f "$out/log" ]; then
      per_turn="$(sed -n 's/.*turns=\([0-9]*\).*datagrams_in=\([0-9]*\).*/\2 \1/p' "$out/log" |
        awk '{ if ($2 > 0) printf ", %.1f datagrams per turn", $1 / $2 }')"
      rm -f "$out/log"
    fi
    ops="$(sed -n 's/.*"ops":\([0-9]*\).*/\1/p' <<<"$report")"
    lost="$(sed -n 's/.*"lost":\([0-9]*\).*/\1/p' <<<"$report")"
    ticks=$((after - before))
    total_ops[$name]=$(( ${total_ops[$name]:-0} + ops ))
    total_ticks[$name]=$(( ${total_ticks[$name]:-0} + ticks ))
    awk -v r="$round" -v n="$name" -v ops="$ops" -v t="$ticks" -v hz="$hz" -v s="$seconds" -v lost="$lost" \
      -v per_turn="$per_turn" \
      'BEGIN { printf "round %d  %-8s %9.0f round trips/s  %6.2f us CPU per round trip  (server CPU %3.0f%%, lost %s%s)\n",
               r, n, ops / s, t / hz * 1e6 / ops, t / hz / s * 100, lost, per_turn }'
  done
done
awk -v ro="${total_ops[reactor]}" -v rt="${total_ticks[reactor]}" \
    -v fo="${total_ops[floor]}" -v ft="${total_ticks[floor]}" \
  'BEGIN { printf "reactor / floor, all rounds: %.2fx the round trips per second, %.2fx the CPU per round trip\n",
           ro / fo, (rt / ro) / (ft / fo) }'

echo "== burst: 2000 datagrams of 1400 bytes from 4 sockets"
for name in reactor reactor-default-buffer floor; do
  start_server "$name"
  before="$(rcvbuf_errors)"
  result="$("${pin1[@]}" "$out/udp_burst" "$addr" 4 2000 1400)" || true
  after="$(rcvbuf_errors)"
  stop_server
  printf '%-24s %s  RcvbufErrors +%d\n' "$name" "$result" $((after - before))
done
