#!/usr/bin/env bash
# Socket.IO fan-out: 1,000 members in one room, 4 of them publishing
# 64-byte messages at a rising rate (open loop), against reactor chat
# --web, node's official socket.io server and python-socketio on aiohttp
# (benches/peers/socketio/). The driver is `reactor load --mode socketio`
# on CPU 1, the server on CPU 0. For each server and rate: deliveries per
# second, p99, errors, the server's CPU per delivery and its memory, and
# how busy the driver's core was (near 100%, the driver is the limit). A
# server's sweep stops at the first rate it does not hold (p99 over 50 ms
# or any error). See benches/README.md, "Socket.IO".
#
#   benches/sio.sh [-d seconds] [-r rates] [-m members]
#
# Needs node and npm (the node server is installed into a temporary
# directory) and python3 with python-socketio and aiohttp for the Python
# server; a missing one is skipped. Everything talks to 127.0.0.1 only.
set -euo pipefail

secs=5 warmup=10 rates="5,20,50,100,300,1000,2000" members=1000
while getopts "d:r:m:h" opt; do
  case $opt in
    d) secs=$OPTARG ;;
    r) rates=$OPTARG ;;
    m) members=$OPTARG ;;
    *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
here="$root/benches"
# shellcheck source=lib/procs.sh
source "$here/lib/procs.sh"
setup_pinning
work=$(mktemp -d "${TMPDIR:-/tmp}/reactor-sio.XXXXXX")
mkdir -p "$work/logs"
echo "results: $work"
trap stop_everything EXIT
trap 'exit 130' INT TERM
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

echo "== building (release)"
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
reactor="$root/target/release/reactor"
servers="reactor"
if command -v npm >/dev/null && command -v node >/dev/null; then
  cp "$here/peers/socketio/package.json" "$work/"
  (cd "$work" && npm install --silent --no-audit --no-fund >/dev/null 2>&1) && servers="$servers node" ||
    echo "skip: node (npm install socket.io failed)"
else
  echo "skip: node (needs node and npm)"
fi
if python3 -c "import socketio, aiohttp" 2>/dev/null; then
  servers="$servers python"
else
  echo "skip: python (pip install python-socketio aiohttp)"
fi

# serve NAME: starts it on CPU 0; sets SERVER_PID and SERVER_ADDR.
serve() {
  local out="$work/logs/$tag.out" cmd
  case $1 in
    reactor) cmd=("$reactor" chat -q --bind 127.0.0.1:0 --web 127.0.0.1:0 --max-conns 20000) ;;
    node) cmd=(env NODE_PATH="$work/node_modules" node "$here/peers/socketio/server.js" --bind 127.0.0.1:0) ;;
    python) cmd=(python3 "$here/peers/socketio/server.py" --bind 127.0.0.1:0) ;;
  esac
  launch "$out" "$work/logs/$tag.err" "${pin_server[@]}" "${cmd[@]}"
  SERVER_PID=$launched
  watchdog "$SERVER_PID" $((secs + 300))
  wait_for_line "$out" "^listening on http://" 20
  SERVER_ADDR=$(sed -n 's#^listening on http://##p' "$out" | tail -n 1)
}

printf '%-8s %6s %12s %10s %8s %12s %8s %10s\n' server rate deliveries/s p99_us errors "CPU us/dlv" RSS_KiB driver_CPU |
  tee "$work/table.txt"
for server in $servers; do
  for rate in ${rates//,/ }; do
    tag="$server-$rate"
    serve "$server"
    "${pin_driver[@]}" "$reactor" load "$SERVER_ADDR" --mode socketio --connections "$members" \
      --publishers 4 --rate "$rate" --duration "$secs" --warmup "$warmup" --json \
      >"$work/logs/$tag.json" 2>"$work/logs/$tag.load" &
    driver=$!
    started+=("$driver")
    # The window: after the warm-up (members joined, and the notices of
    # their arrival delivered), for the measured time.
    sleep "$warmup"
    before=$(cpu_ticks "$SERVER_PID")
    driver_before=$(cpu_ticks "$driver")
    sleep "$secs"
    after=$(cpu_ticks "$SERVER_PID")
    driver_after=$(cpu_ticks "$driver")
    rss=$(rss_kib "$SERVER_PID" VmHWM)
    wait "$driver" || true
    forget "$driver"
    stop_pid "$SERVER_PID"
    json=$(cat "$work/logs/$tag.json" 2>/dev/null || true)
    ops=$(sed -n 's/.*"ops":\([0-9]*\).*/\1/p' <<<"$json")
    p99=$(sed -n 's/.*"p99":\([0-9]*\).*/\1/p' <<<"$json")
    errors=$(sed -n 's/.*"errors":{"total":\([0-9]*\).*/\1/p' <<<"$json")
    per=$(awk -v t="$((after - before))" -v o="${ops:-0}" -v hz="$(getconf CLK_TCK)" \
      'BEGIN { if (o > 0) printf "%.3f", t / hz * 1e6 / o; else print "-" }')
    busy=$(awk -v t="$((driver_after - driver_before))" -v s="$secs" -v hz="$(getconf CLK_TCK)" \
      'BEGIN { printf "%.0f%%", t / hz / s * 100 }')
    printf '%-8s %6s %12s %10s %8s %12s %8s %10s\n' "$server" "$rate" \
      "$(awk -v o="${ops:-0}" -v s="$secs" 'BEGIN { printf "%.0f", o / s }')" \
      "${p99:--}" "${errors:--}" "$per" "$rss" "$busy" | tee -a "$work/table.txt"
    if [ -z "$ops" ] || [ "${errors:-1}" != 0 ] || [ "${p99:-99999999}" -gt 50000 ]; then
      echo "  $server: not held at $rate messages/s; its sweep stops here"
      break
    fi
  done
done
echo
echo "results: $work (table.txt, logs/)"
