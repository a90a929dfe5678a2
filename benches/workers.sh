#!/usr/bin/env bash
# One loop per core, measured: server CPU per operation with --workers 2
# against --workers 1, side by side with nginx at worker_processes 2, and
# chat fan-out across two workers. See benches/README.md, "Workers".
#
#   benches/workers.sh [-R rounds] [-d seconds]
#
# Nothing is pinned: with --workers 2 the server may use both cores, and
# the load generator shares them, so what compares is the server's CPU
# time per operation (user + system over the measured window, from
# /proc), not throughput. Servers run alternated round by round. Everything
# talks to 127.0.0.1 only and every process is stopped at the end.
set -euo pipefail

rounds=3 secs=5
while getopts "R:d:h" opt; do
  case $opt in
    R) rounds=$OPTARG ;;
    d) secs=$OPTARG ;;
    *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
here="$root/benches"
# shellcheck source=lib/procs.sh
source "$here/lib/procs.sh"
# shellcheck source=lib/servers.sh
source "$here/lib/servers.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/reactor-workers.XXXXXX")
mkdir -p "$work/logs"
echo "results: $work"
trap stop_everything EXIT
trap 'exit 130' INT TERM
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

echo "== building (release)"
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
reactor="$root/target/release/reactor"
nginx=$(command -v nginx || true)

# serve NAME: starts a server, sets SERVER_PID and SERVER_ADDR.
serve() {
  local out="$work/logs/$tag.out"
  case $1 in
    http-1) launch "$out" "$work/logs/$tag.err" "$reactor" http -q --workers 1 --bind 127.0.0.1:0 ;;
    http-2) launch "$out" "$work/logs/$tag.err" "$reactor" http -q --workers 2 --bind 127.0.0.1:0 ;;
    echo-1) launch "$out" "$work/logs/$tag.err" "$reactor" echo -q --workers 1 --bind 127.0.0.1:0 ;;
    echo-2) launch "$out" "$work/logs/$tag.err" "$reactor" echo -q --workers 2 --bind 127.0.0.1:0 ;;
    chat-1) launch "$out" "$work/logs/$tag.err" "$reactor" chat -q --workers 1 --bind 127.0.0.1:0 ;;
    chat-2) launch "$out" "$work/logs/$tag.err" "$reactor" chat -q --workers 2 --bind 127.0.0.1:0 ;;
    nginx-2) start_nginx 2; return ;;
  esac
  SERVER_PID=$launched
  watchdog "$SERVER_PID" $((secs + 120))
  wait_for_line "$out" "^listening on " 10
  SERVER_ADDR=$(sed -n 's#^listening on [a-z]*://##p' "$out" | head -n 1)
}

# drive PROFILE ADDR: the load, for secs seconds after a 1 s warm-up; the
# operations it counted are printed by reactor load --json.
drive() {
  case $1 in
    http) "$reactor" load "$2" --mode http --connections 64 --pipeline 16 --threads 1 \
            --duration "$secs" --warmup 1 --json ;;
    echo) "$reactor" load "$2" --mode echo --connections 1000 --threads 1 \
            --duration "$secs" --warmup 1 --json ;;
    chat) "$reactor" load "$2" --mode chat --connections 500 --publishers 4 --rate 500 \
            --duration "$secs" --warmup 2 --json ;;
  esac
}

printf '%-6s %-8s %5s %12s %12s %10s %10s\n' profile server round ops/s "CPU us/op" p99_us errors
for profile in http echo chat; do
  case $profile in
    http) servers="http-1 http-2"; [ -n "$nginx" ] && servers="$servers nginx-2" ;;
    echo) servers="echo-1 echo-2" ;;
    chat) servers="chat-1 chat-2" ;;
  esac
  for round in $(seq "$rounds"); do
    for server in $servers; do
      tag="$profile-$server-$round"
      serve "$server"
      # The warm-up opens connections; the window starts after it.
      drive "$profile" "$SERVER_ADDR" >"$work/logs/$tag.json" 2>"$work/logs/$tag.load" &
      driver=$!
      started+=("$driver")
      sleep "$(case $profile in chat) echo 2 ;; *) echo 1 ;; esac)"
      before=$(cpu_ticks "$SERVER_PID")
      sleep "$secs"
      after=$(cpu_ticks "$SERVER_PID")
      wait "$driver" || true
      forget "$driver"
      stop_pid "$SERVER_PID"
      json=$(cat "$work/logs/$tag.json")
      ops=$(sed -n 's/.*"ops":\([0-9]*\).*/\1/p' <<<"$json")
      p99=$(sed -n 's/.*"p99":\([0-9]*\).*/\1/p' <<<"$json")
      errors=$(sed -n 's/.*"errors":{"total":\([0-9]*\).*/\1/p' <<<"$json")
      ticks=$((after - before))
      us_per_op=$(awk -v t="$ticks" -v o="${ops:-0}" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { if (o > 0) printf "%.3f", t / hz * 1e6 / o; else print "-" }')
      printf '%-6s %-8s %5s %12s %12s %10s %10s\n' "$profile" "$server" "$round" \
        "$(awk -v o="${ops:-0}" -v s="$secs" 'BEGIN { printf "%.0f", o / s }')" \
        "$us_per_op" "${p99:--}" "${errors:--}" | tee -a "$work/table.txt"
    done
  done
done
# The summary: per profile and server, medians over the rounds, and the
# median of each round's CPU per operation against the same round's one
# worker (the figure to compare with 1.00: what sharing nothing costs).
summarize() {
  awk '
function median(list,   n, a, i, j, t) {
  n = split(list, a, " ")
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
  key = $1 SUBSEP $2
  if (!(key in cpu)) { order[++count] = key }
  cpu[key] = cpu[key] " " $5
  ops[key] = ops[key] " " $4
  at[$1, $2, $3] = $5
  if ($2 ~ /-1$/) one[$1] = $2
}
END {
  printf "%-6s %-8s %12s %12s %10s\n", "profile", "server", "ops/s", "CPU us/op", "x 1 worker"
  for (k = 1; k <= count; k++) {
    split(order[k], pk, SUBSEP)
    ratios = ""
    for (r = 1; r <= 100; r++)
      if ((pk[1], pk[2], r) in at && (pk[1], one[pk[1]], r) in at && at[pk[1], one[pk[1]], r] > 0)
        ratios = ratios " " at[pk[1], pk[2], r] / at[pk[1], one[pk[1]], r]
    printf "%-6s %-8s %12.0f %12.3f %10s\n", pk[1], pk[2], median(ops[order[k]]), median(cpu[order[k]]),
      ratios == "" ? "-" : sprintf("%.2f", median(ratios))
  }
}' "$1"
}

echo
echo "== medians over $rounds rounds"
summarize "$work/table.txt" | tee "$work/summary.txt"
echo
echo "results: $work (table.txt, summary.txt, logs/)"
