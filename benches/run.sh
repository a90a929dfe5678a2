#!/usr/bin/env bash
# Runs the side-by-side benchmarks that docs/benchmarks.md quotes, against
# the reference servers in ../shared/bench (see its README). Everything
# talks to 127.0.0.1 only, is bounded in time, and stops by itself.
#
#   benches/run.sh [echo] [idle] [udp] [http] [fanout]    (default: all)
#
# Results: the tables are printed and kept under $BENCH_BUILD/results
# (default /tmp/reactor-bench/results). Each comparison is one run with
# the anchors alternated round by round, so quote ratios, not absolutes:
# these machines drift by +-20% from one second to the next.
set -euo pipefail
cd "$(dirname "$0")/.."
bench=../shared/bench
[ -d "$bench" ] || { echo "benches/run.sh: $bench not found" >&2; exit 1; }
cargo build --release -q
bin="$PWD/target/release/reactor"
what=("$@")
[ ${#what[@]} -gt 0 ] || what=(echo idle udp http fanout)

for w in "${what[@]}"; do
  case "$w" in
    echo)
      "$bench/run-all.sh" -R 3 -p small,pipe,many,large \
        -t "reactor=$bin echo --bind {ADDR}" ;;
    idle)
      "$bench/idle-conns.sh" -n reactor -- "$bin" echo --bind {ADDR}
      "$bench/idle-conns.sh" -n reactor-echoed -m echo -- "$bin" echo --bind {ADDR}
      "$bench/idle-conns.sh" -n reactor-chat -- "$bin" chat --bind {ADDR} ;;
    udp)
      "$bench/run-all.sh" --udp -R 5 -p small,large \
        -t "reactor=$bin udp-echo --bind {ADDR}" ;;
    http)
      "$bench/run-all.sh" --http -R 3 \
        -t "reactor=$bin http --bind {ADDR}" ;;
    fanout)
      rates=1000,2000,4000,6000,8000,10000
      "$bench/run-fanout.sh" -P redis -T 3 -r "$rates"
      "$bench/run-fanout.sh" -P chat -T 3 -r "$rates" -n reactor -- "$bin" chat --bind {ADDR} ;;
    *) echo "benches/run.sh: unknown benchmark '$w'" >&2; exit 2 ;;
  esac
done
