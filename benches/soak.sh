#!/usr/bin/env bash
# Soak: one server under steady load for minutes, watched for memory and
# descriptors that creep up, and for any message lost or changed.
#
#   benches/soak.sh [MINUTES=5] [echo|chat|both=both]
#
# (SOAK_SECONDS=30 benches/soak.sh checks the script itself in seconds;
# its "minutes" are then thirds of the run, and its figures mean little.)
#
# echo: 100 connections, open loop at a rate that makes at least 10^6
#       messages of 64 bytes over the run (3,400/s for 5 minutes), every
#       byte verified by `reactor load --mode echo`.
# chat: 1,000 members of one room, 20 lines a second in all, each line
#       delivered to the 999 others (about 20,000 deliveries a second),
#       every delivery checked for order and gaps by `reactor load --mode
#       chat`. Ten seconds of warm-up come first, not measured, for the
#       thousand members to join (each join is news for the whole room).
#
# The server's VmRSS and open descriptors are read from /proc every 5 s
# into target/soak/MODE.csv. The run passes when the load reports no
# error at all (and, for echo, at least 10^6 messages) and the median RSS
# of the last minute is within 10% of the first minute's, and every
# connection was made (every chat member welcomed); the summary
# line of each says so, and the exit status is 1 if either run failed.
#
# Everything is niced (nice -n 10): the machine may be shared. It talks to
# 127.0.0.1 only, is bounded in time (the load's --duration), and stops
# the server it started, also when interrupted. Linux only (/proc).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-5}"
which="${2:-both}"
seconds="${SOAK_SECONDS:-$((minutes * 60))}"
# The first and last "minute" compared: a minute, or a third of a short run.
window=$((seconds >= 180 ? 60 : seconds / 3))
sample_every=5

cargo build --release -q
reactor="$PWD/target/release/reactor"
out="$PWD/target/soak"
mkdir -p "$out"

server_pid=""
load_pid=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  for pid in $load_pid $server_pid; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  load_pid=""
  server_pid=""
}
trap cleanup EXIT

# start_server ARGS...: the server niced, on a free port; sets server_pid
# and addr from its readiness line.
start_server() {
  local ready="$out/ready"
  rm -f "$ready"
  nice -n 10 "$reactor" "$@" --bind 127.0.0.1:0 >"$ready" 2>"$out/server.log" &
  server_pid=$!
  for _ in $(seq 200); do
    grep -q listening "$ready" 2>/dev/null && break
    sleep 0.05
  done
  addr="$(sed -n 's#^listening on tcp://##p' "$ready")"
  [ -n "$addr" ] || { echo "soak.sh: $1 did not start" >&2; exit 1; }
}

# rss_kib and fds of the server now.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status"; }
fds() { find "/proc/$server_pid/fd" -mindepth 1 -maxdepth 1 | wc -l; }

# median_between FILE FROM TO: median RSS of the samples taken from FROM
# to TO seconds into the run.
median_between() {
  awk -F, -v from="$1" -v to="$2" 'NR > 1 && $1 >= from && $1 <= to { print $2 }' "$3" |
    sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print 0 }'
}

# soak NAME MIN_OPS WARMUP LOAD_ARGS...: runs the load against the
# started server (WARMUP seconds, then the measured ones), samples it, and
# prints one summary line. Returns 1 on failure.
soak() {
  local name=$1 min_ops=$2 warmup=$3
  shift 3
  local csv="$out/$name.csv" report="$out/$name.json"
  echo "t_s,rss_kib,fds" >"$csv"
  nice -n 10 "$reactor" load "$addr" --json --warmup "$warmup" --duration "$seconds" "$@" \
    >"$report" 2>"$out/$name.load.log" &
  load_pid=$!
  local started=$SECONDS
  while kill -0 "$load_pid" 2>/dev/null; do
    echo "$((SECONDS - started)),$(rss_kib),$(fds)" >>"$csv"
    sleep "$sample_every"
  done
  local load_status=0
  wait "$load_pid" || load_status=$?
  load_pid=""
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  server_pid=""

  local ops errors first last connections connected
  ops=$(grep -o '"ops":[0-9]*' "$report" | cut -d: -f2)
  errors=$(grep -o '"total":[0-9]*' "$report" | cut -d: -f2)
  connections=$(grep -o '"connections":[0-9]*' "$report" | cut -d: -f2)
  # Every connection made (for chat: every member welcomed into the room).
  connected=$(grep -o '"connected":[0-9]*' "$report" | cut -d: -f2)
  first=$(median_between "$warmup" $((warmup + window)) "$csv")
  last=$(median_between $((warmup + seconds - window)) $((warmup + seconds)) "$csv")
  local verdict=ok
  [ "$load_status" = 0 ] && [ "${errors:-1}" = 0 ] && [ "${ops:-0}" -ge "$min_ops" ] || verdict=FAILED
  [ "${connected:-0}" = "${connections:-1}" ] || verdict=FAILED
  awk -v f="$first" -v l="$last" 'BEGIN { exit !(f > 0 && (l - f) / f <= 0.10 && (f - l) / f <= 0.10) }' ||
    verdict=FAILED
  local fds_first fds_last
  fds_first=$(awk -F, -v from="$warmup" 'NR > 1 && $1 > from { print $3; exit }' "$csv")
  fds_last=$(tail -n 1 "$csv" | cut -d, -f3)
  echo "soak $name: $verdict: ops=$ops errors=$errors connected=$connected/$connections (exit $load_status)" \
    "rss_kib first=$first last=$last (medians of the first and last ${window} s)" \
    "fds $fds_first->$fds_last" \
    "| $(grep -o 'stopped after.*' "$out/server.log")"
  echo "  samples: $csv; report: $report"
  [ "$verdict" = ok ]
}

status=0
if [ "$which" = echo ] || [ "$which" = both ]; then
  rate=$(((1000000 * 102 / 100 + seconds - 1) / seconds))
  start_server echo
  soak echo 1000000 0 --mode echo --connections 100 --size 64 --rate "$rate" || status=1
fi
if [ "$which" = chat ] || [ "$which" = both ]; then
  start_server chat
  soak chat 1 "${SOAK_WARMUP:-10}" --mode chat --connections 1000 --rate 20 || status=1
fi
exit "$status"
