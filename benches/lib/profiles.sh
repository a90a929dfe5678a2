# shellcheck shell=bash
# The profiles of benches/compare.sh: what each one sends, which servers it
# compares, against which reference, and the loop that runs them round by
# round. Sourced, not run; uses procs.sh and servers.sh.

all_profiles="small pipe many large rate http http-pipe http-rate udp udp-large chat idle"

# expand_profiles LIST: profile and group names (comma-separated) to the
# profiles they name, in the order above.
expand_profiles() {
  local word picked=" "
  for word in ${1//,/ }; do
    case $word in
      all) picked+="$all_profiles " ;;
      echo) picked+="small pipe many large rate " ;;
      http) picked+="http http-pipe http-rate " ;;
      udp) picked+="udp udp-large " ;;
      *)
        [[ " $all_profiles " == *" $word "* ]] || { echo "compare.sh: no profile or group '$word' ($all_profiles)" >&2; return 1; }
        picked+="$word "
        ;;
    esac
  done
  local p
  for p in $all_profiles; do
    [[ $picked == *" $p "* ]] && echo "$p"
  done
  return 0
}

profile_kind() {
  case $1 in
    small | pipe | many | large | rate) echo echo ;;
    http*) echo http ;;
    udp*) echo udp ;;
    chat) echo chat ;;
  esac
}

# The servers of a profile, the reference first (its row shows 1.00).
# With REACTOR_BASELINE set to another build of reactor (an older commit,
# say), it runs as "baseline" beside reactor, alternated round by round
# like every other server: is a change within noise of what it replaced?
profile_servers() {
  local base=""
  [ -n "${REACTOR_BASELINE:-}" ] && base=" baseline"
  case $(profile_kind "$1") in
    echo) echo "floor reactor$base tokio tokio-multi threads asyncio" ;;
    http) echo "floor reactor$base hyper nginx" ;;
    udp) echo "floor reactor$base" ;;
    chat) echo "redis reactor$base" ;;
  esac
}

# The Rust peer the second CPU ratio is against, or "-".
profile_peer() {
  case $(profile_kind "$1") in
    echo) echo tokio ;;
    http) echo hyper ;;
    *) echo - ;;
  esac
}

profile_drivers() {
  case $1 in
    http | http-pipe) if [ -n "$wrk" ]; then echo "load wrk"; else echo load; fi ;;
    chat) echo fanout ;;
    *) echo load ;;
  esac
}

profile_title() {
  case $1 in
    small) echo "echo, closed loop: 50 connections x 64 B" ;;
    pipe) echo "echo, closed loop: 50 connections x 64 B, 16 in flight each" ;;
    many) echo "echo, closed loop: 1,000 connections x 64 B" ;;
    large) echo "echo, closed loop: 1 connection x 16 KiB" ;;
    rate) echo "echo, fixed rate: 100,000 msgs/s over 50 connections" ;;
    http) echo "http, closed loop: 50 keep-alive connections" ;;
    http-pipe) echo "http, closed loop: 50 connections, 16 requests pipelined" ;;
    http-rate) echo "http, fixed rate: 100,000 req/s over 50 connections" ;;
    udp) echo "udp echo, closed loop: 4 sockets x 64 B" ;;
    udp-large) echo "udp echo, closed loop: 1 socket x 16 KiB" ;;
    chat) echo "fan-out: 1,000 subscribers, 4 publishers, 100 publishes/s (100,000 deliveries/s)" ;;
  esac
}

# reactor load's options for a profile (after the address).
load_args() {
  case $1 in
    small) echo --mode echo --connections 50 --size 64 ;;
    pipe) echo --mode echo --connections 50 --size 64 --pipeline 16 ;;
    many) echo --mode echo --connections 1000 --size 64 ;;
    large) echo --mode echo --connections 1 --size 16384 ;;
    rate) echo --mode echo --connections 50 --size 64 --rate 100000 ;;
    http) echo --mode http --connections 50 ;;
    http-pipe) echo --mode http --connections 50 --pipeline 16 ;;
    http-rate) echo --mode http --connections 50 --rate 100000 ;;
    udp) echo --mode udp --connections 4 --size 64 ;;
    udp-large) echo --mode udp --connections 1 --size 16384 ;;
  esac
}

run_profile() {
  local p=$1 server driver round servers=()
  [ "$p" = idle ] && { run_idle; return; }
  echo "== $p: $(profile_title "$p")"
  for server in $(profile_servers "$p"); do
    if available "$server"; then servers+=("$server"); else echo "  skip: $server (not installed)"; fi
  done
  local reference
  reference=$(profile_servers "$p" | cut -d' ' -f1)
  local latency
  for driver in $(profile_drivers "$p"); do
    # wrk times most pipelined requests as 0 (wg/wrk#236): not quoted.
    latency=yes
    [ "$driver:$p" != wrk:http-pipe ] || latency=no
    printf '%s\t%s\t%s\t%s\t%s\n' "$p" "$driver" "$reference" "$(profile_peer "$p")" "$latency" >>"$work/profiles.tsv"
  done
  for round in $(seq "$rounds"); do
    for server in "${servers[@]}"; do
      for driver in $(profile_drivers "$p"); do
        measure "$p" "$driver" "$server" "$round"
      done
    done
  done
}

# measure PROFILE DRIVER SERVER ROUND: a fresh server, one driver run, one
# record: the server's CPU ticks over the measured window and its peak RSS.
measure() {
  local p=$1 driver=$2 server=$3 round=$4
  tag="$p.$driver.$server.r$round"
  local out="$work/raw/$tag.out" err="$work/logs/$tag.driver.err"
  if ! start_server "$(profile_kind "$p")" "$server"; then
    record "$p" "$driver" "$server" "$round" 1 0 0 "$out"
    return
  fi
  local bound=$((secs + 60))
  case $driver in
    load)
      # shellcheck disable=SC2046
      windowed "$out" "$err" '' "$reactor" load "$SERVER_ADDR" $(load_args "$p") \
        --warmup 1 --duration "$secs" --json -q ;;
    fanout)
      windowed "$out" "$err" 'publishing' "$peers/fanout" "$SERVER_ADDR" --proto "$(fanout_proto "$server")" \
        --subscribers 1000 --publishers 4 --rate 100 --warmup 1 --duration "$secs" --json ;;
    wrk)
      local pipeline=()
      [ "$p" = http-pipe ] && pipeline=(-s "$work/pipeline.lua") && write_pipeline_lua
      window_start=$(cpu_ticks "$SERVER_PID")
      driver_status=0
      timeout -k 5 "$bound" "${pin_driver[@]}" "$wrk" -t1 -c50 -d"${secs}s" --latency "${pipeline[@]}" \
        "http://$SERVER_ADDR/" >"$out" 2>"$err" || driver_status=$?
      window_end=$(cpu_ticks "$SERVER_PID") ;;
  esac
  local rss
  rss=$(rss_kib "$SERVER_PID" VmHWM)
  stop_pid "$SERVER_PID"
  record "$p" "$driver" "$server" "$round" "$driver_status" $((window_end - window_start)) "$rss" "$out"
}

# Chat fan-out speaks chat lines to reactor, RESP to Redis.
fanout_proto() { if [ "$1" = redis ]; then echo redis; else echo chat; fi; }

# windowed OUT ERR MARKER CMD...: runs a driver that warms up for 1 s and
# then measures for $secs, and reads the server's CPU ticks at the start
# and end of that window. With a MARKER, the warm-up starts when the
# driver's stderr says it (fanout: once every subscriber is in).
windowed() {
  local out=$1 err=$2 marker=$3
  shift 3
  launch "$out" "$err" timeout -k 5 $((secs + 60)) "${pin_driver[@]}" "$@"
  local driver=$launched
  [ -z "$marker" ] || wait_for_line "$err" "$marker" 60 || true
  sleep 1
  window_start=$(cpu_ticks "$SERVER_PID")
  sleep "$secs"
  window_end=$(cpu_ticks "$SERVER_PID")
  driver_status=0
  wait "$driver" || driver_status=$?
  forget "$driver"
}

# wrk's usual pipelining script: 16 GET / requests in every write.
write_pipeline_lua() {
  cat >"$work/pipeline.lua" <<'EOF'
init = function(args)
  local requests = {}
  for i = 1, 16 do requests[i] = wrk.format("GET", "/") end
  batch = table.concat(requests)
end
request = function() return batch end
EOF
}

# record PROFILE DRIVER SERVER ROUND STATUS TICKS RSS OUT: one line of
# records.tsv, and one line of progress.
record() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "raw/${8##*/}" >>"$work/records.tsv"
  local ops
  ops=$(grep -oE '"ops_per_sec":[0-9.]+|^Requests/sec: *[0-9.]+' "$8" 2>/dev/null | grep -oE '[0-9.]+$' | head -n 1) || true
  printf '  round %s/%s  %-12s %-7s %12s ops/s  server CPU %5s ticks  exit %s\n' \
    "$4" "$rounds" "$3" "$2" "${ops:-failed}" "$6" "$5"
}

# Memory per idle connection: RSS before and after $idle_conns
# connections that send and read nothing.
run_idle() {
  echo "== idle: RSS before and after $idle_conns idle connections"
  local server probe before fds after
  for server in reactor-echo reactor-chat nginx redis; do
    available "$server" || { echo "  skip: $server (not installed)"; continue; }
    tag="idle.$server"
    start_server idle "$server" || continue
    settle "$SERVER_PID" 10
    before=$(rss_kib "$SERVER_PID" VmRSS)
    fds=$(fd_count "$SERVER_PID")
    launch "$work/raw/$tag.out" "$work/logs/$tag.probe.err" \
      "${pin_driver[@]}" "$peers/idle-conns" "$SERVER_ADDR" --count "$idle_conns" --hold 300
    probe=$launched
    if wait_for_line "$work/raw/$tag.out" '^open ' 120 && holds "$SERVER_PID" $((fds + idle_conns)) 60; then
      settle "$SERVER_PID" 60
      after=$(rss_kib "$SERVER_PID" VmRSS)
      printf '%s\t%s\t%s\t%s\n' "$server" "$idle_conns" "$before" "$after" >>"$work/idle.tsv"
      echo "  $server: $before KiB -> $after KiB"
    else
      echo "  $server: the server never held all $idle_conns connections (see logs/$tag.*)"
    fi
    stop_pid "$probe"
    stop_pid "$SERVER_PID"
  done
}

# holds PID N SECONDS: true once PID has N descriptors open (it has
# accepted every connection), at most SECONDS.
holds() {
  local deadline=$((SECONDS + $3))
  until [ "$(fd_count "$1")" -ge "$2" ]; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}
