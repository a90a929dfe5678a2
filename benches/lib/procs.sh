# shellcheck shell=bash
# Processes for benches/compare.sh: starting them in the background,
# waiting for them to be ready, reading their CPU time and memory from
# /proc, and stopping every one of them at the end. Sourced, not run.

# Every process this script started and has not yet reaped.
started=()

# `taskset -c 0` for servers, `taskset -c 1` for drivers: the server and
# the load generator each get a core, so neither steals the other's.
pin_server=()
pin_driver=()
setup_pinning() {
  if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    pin_server=(taskset -c 0)
    pin_driver=(taskset -c 1)
  else
    echo "skip: pinning (needs taskset from util-linux and 2 CPUs); servers and drivers share the cores"
  fi
}

# launch OUT ERR CMD...: runs CMD in the background, stdout to OUT and
# stderr to ERR; its pid is left in $launched.
launch() {
  local out=$1 err=$2
  shift 2
  "$@" >"$out" 2>"$err" </dev/null &
  launched=$!
  started+=("$launched")
}

# watchdog PID SECONDS: kills PID and its descendants after SECONDS, so a
# server outlives its measurement by a bounded time even if this script is
# killed outright (SIGKILL runs no trap). stop_pid calls it off.
declare -A watchdogs=()
watchdog() {
  (
    sleep "$2"
    # shellcheck disable=SC2046 # one word per pid
    kill -KILL $(tree_pids "$1") 2>/dev/null
  ) >/dev/null 2>&1 &
  watchdogs[$1]=$!
  started+=("$!")
}

forget() {
  local pid kept=()
  for pid in "${started[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
  started=("${kept[@]}")
}

# The pid and all its descendants (nginx's worker, tokio's threads are
# not processes and need nothing).
tree_pids() {
  local pid=$1 child
  [ -d "/proc/$pid" ] || return 0
  echo "$pid"
  # shellcheck disable=SC2013 # the file is pids separated by spaces
  for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
    tree_pids "$child"
  done
}

# stop_pid PID: SIGTERM to it and its descendants, up to 5 s to exit, then
# SIGKILL; reaps it.
stop_pid() {
  local pid=$1 tree
  tree=$(tree_pids "$pid")
  # shellcheck disable=SC2086 # one word per pid
  [ -z "$tree" ] || kill -TERM $tree 2>/dev/null || true
  local deadline=$((SECONDS + 5))
  while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
  # shellcheck disable=SC2086
  [ -z "$tree" ] || kill -KILL $tree 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  forget "$pid"
  local dog=${watchdogs[$pid]:-}
  if [ -n "$dog" ]; then
    unset "watchdogs[$pid]"
    stop_pid "$dog"
  fi
}

stop_everything() {
  local pid
  for pid in "${started[@]}"; do stop_pid "$pid"; done
}

# wait_for_line FILE REGEX SECONDS: true once FILE has a matching line.
wait_for_line() {
  local deadline=$((SECONDS + $3))
  until grep -qE "$2" "$1" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.05
  done
}

# wait_for_port PORT SECONDS: true once something accepts on 127.0.0.1:PORT.
wait_for_port() {
  local deadline=$((SECONDS + $2))
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.05
  done
}

# A port no socket uses now, for nginx and Redis, which cannot pick their
# own and report it. It is taken below the kernel's ephemeral range, so the
# client end of some other connection cannot be holding it. (Another
# program could still bind it first; the server would then fail to start,
# and the run says so.)
free_port() {
  local low port hex
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range
  [ "$low" -gt 11000 ] || low=32768
  while :; do
    port=$((10000 + RANDOM % (low - 10000)))
    hex=$(printf ':%04X ' "$port")
    grep -q "$hex" /proc/net/tcp /proc/net/tcp6 2>/dev/null || { echo "$port"; return; }
  done
}

# CPU time (user + system, in clock ticks) of PID and its descendants,
# from fields 14 and 15 of /proc/PID/stat.
cpu_ticks() {
  local sum=0 pid stat
  for pid in $(tree_pids "$1"); do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    stat=${stat##*) } # the name in parentheses may hold spaces
    # shellcheck disable=SC2086
    set -- $stat
    sum=$((sum + ${12} + ${13}))
  done
  echo "$sum"
}

# rss_kib PID FIELD: VmRSS (now) or VmHWM (peak) summed over the tree.
rss_kib() {
  local sum=0 pid kib
  for pid in $(tree_pids "$1"); do
    kib=$(awk -v f="$2:" '$1 == f { print $2 }' "/proc/$pid/status" 2>/dev/null) || kib=0
    sum=$((sum + ${kib:-0}))
  done
  echo "$sum"
}

# Open descriptors of PID and its descendants.
fd_count() {
  local sum=0 pid n
  for pid in $(tree_pids "$1"); do
    # shellcheck disable=SC2012 # descriptor names are numbers
    n=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l) || n=0
    sum=$((sum + n))
  done
  echo "$sum"
}

# settle PID SECONDS: waits until PID has used no CPU for half a second
# (it has finished reacting to what just happened), at most SECONDS.
settle() {
  local deadline=$((SECONDS + $2)) before after
  after=$(cpu_ticks "$1")
  while [ $SECONDS -lt $deadline ]; do
    before=$after
    sleep 0.5
    after=$(cpu_ticks "$1")
    [ "$before" != "$after" ] || return 0
  done
}
