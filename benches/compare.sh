#!/usr/bin/env bash
# Compares reactor with its peers, from a fresh clone: builds everything,
# runs every profile, prints one table of ratios. See benches/README.md.
#
#   benches/compare.sh [-R rounds] [-d seconds] [-p profiles] [-q]
#
#   -R N   rounds (default 3): every server of a profile runs once per
#          round, so each round gives a ratio measured side by side
#   -d S   seconds measured per run (default 5), after a 1 s warm-up
#   -p P   profiles or groups, comma-separated (default: all). Profiles:
#          small pipe many large rate  http http-pipe http-rate
#          udp udp-large  chat  idle. Groups: echo http udp chat idle.
#   -q     quick check of the script itself: 1 round of 2 s, 1,000 idle
#          connections instead of 10,000. Its figures mean nothing.
#
# Servers run pinned to CPU 0, drivers to CPU 1 (taskset). Everything talks
# to 127.0.0.1 only, every run is bounded in time, and every process this
# script starts is stopped when it ends, however it ends. Raw outputs and
# the table go to a temporary directory, printed at the start.
set -euo pipefail

rounds=3 secs=5 want=all idle_conns=10000
usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
while getopts "R:d:p:qh" opt; do
  case $opt in
    R) rounds=$OPTARG ;;
    d) secs=$OPTARG ;;
    p) want=$OPTARG ;;
    q) rounds=1 secs=2 idle_conns=1000 ;;
    h) usage 0 ;;
    *) usage ;;
  esac
done
[[ $rounds =~ ^[1-9][0-9]*$ && $secs =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: -R and -d take whole numbers >= 1" >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
here="$root/benches"
# shellcheck source=lib/procs.sh
source "$here/lib/procs.sh"
# shellcheck source=lib/servers.sh
source "$here/lib/servers.sh"
# shellcheck source=lib/profiles.sh
source "$here/lib/profiles.sh"
selected=$(expand_profiles "$want") || exit 2

work=$(mktemp -d "${TMPDIR:-/tmp}/reactor-compare.XXXXXX")
mkdir -p "$work/bin" "$work/raw" "$work/logs"
echo "results: $work"
trap stop_everything EXIT
trap 'exit 130' INT TERM

# Servers and load generators open thousands of sockets.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

echo "== building (release)"
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
cargo build --release --quiet --manifest-path "$here/peers/Cargo.toml"
reactor="$root/target/release/reactor"
peers="$here/peers/target/release"
for floor in epoll-echo epoll-http udp-floor; do
  cc -O2 -Wall -Wextra -o "$work/bin/$floor" "$here/peers/floors/$floor.c"
done
find_optional_tools

for profile in $selected; do
  run_profile "$profile"
done

echo
"$peers/compare-table" "$work" --clk-tck "$(getconf CLK_TCK)" | tee "$work/table.md"
echo
echo "results: $work (table.md, records.tsv, raw/, logs/)"
