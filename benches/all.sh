#!/usr/bin/env bash
# Every table of docs/benchmarks.md, from one command.
#
#   benches/all.sh            # about 50 minutes on two cores
#   benches/all.sh -q         # a quick pass over every script (minutes; figures mean nothing)
#
# Runs, one after the other (never two at once: each wants the machine to
# itself), and keeps their output in one directory whose path it prints:
#
#   compare.txt   benches/compare.sh: echo, HTTP, UDP, chat fan-out, idle memory
#   udp.txt       benches/udp.sh: UDP round trips against the floor, and a burst
#   workers.txt   benches/workers.sh: --workers 2 against --workers 1, and nginx
#   sio.txt       benches/sio.sh: Socket.IO fan-out against node and python
#   micro.txt     cargo bench: the parsers and queues on their own
#
# A script whose tools are missing (wrk, nginx, redis, node, python3 with
# python-socketio) skips those rows and says so; see benches/README.md for
# the packages. Everything talks to 127.0.0.1 only and stops by itself.
set -euo pipefail

quick=0
while getopts "qh" opt; do
  case $opt in
    q) quick=1 ;;
    *) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done

here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
out=$(mktemp -d "${TMPDIR:-/tmp}/reactor-all.XXXXXX")
echo "all results: $out"

# run NAME COMMAND...: runs one script, its output shown and kept in NAME.txt.
# A script that fails does not stop the others; the summary says which did.
failed=()
run() {
  local name=$1
  shift
  echo
  echo "=== $name: $*"
  if ! "$@" 2>&1 | tee "$out/$name.txt"; then
    failed+=("$name")
  fi
}

if [ "$quick" = 1 ]; then
  run compare "$here/compare.sh" -q
  run udp "$here/udp.sh" 1 1
  run workers "$here/workers.sh" -R 1 -d 1
  run sio "$here/sio.sh" -d 1 -r 5 -m 50
  run micro cargo bench --bench micro -- --quick
else
  run compare "$here/compare.sh"
  run udp "$here/udp.sh" 3 5
  run workers "$here/workers.sh"
  run sio "$here/sio.sh"
  run micro cargo bench --bench micro
fi

echo
echo "all results: $out"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
