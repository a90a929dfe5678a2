# shellcheck shell=bash
# The servers benches/compare.sh compares, and how to start each one.
# Sourced, not run; uses $work, $here, $reactor, $peers and procs.sh.

# Optional peers: empty when not installed, with one line saying what is
# skipped. apt-get install -y wrk nginx-light redis-server python3 util-linux
python='' nginx='' redis='' wrk=''
find_optional_tools() {
  setup_pinning
  if command -v python3 >/dev/null; then
    # The interpreter itself, not a version manager's shim in front of it:
    # the pid we measure must be the server's.
    python=$(python3 -c 'import sys; print(sys.executable)')
  else
    echo "skip: asyncio echo (python3 not installed)"
  fi
  nginx=$(command -v nginx || true)
  if [ -z "$nginx" ] && [ -x /usr/sbin/nginx ]; then nginx=/usr/sbin/nginx; fi
  [ -n "$nginx" ] || echo "skip: nginx rows (nginx not installed: apt-get install -y nginx-light)"
  redis=$(command -v redis-server || true)
  [ -n "$redis" ] || echo "skip: redis rows (redis-server not installed: apt-get install -y redis-server)"
  wrk=$(command -v wrk || true)
  [ -n "$wrk" ] || echo "skip: wrk cross-check (wrk not installed: apt-get install -y wrk)"
}

# Whether server NAME can run here.
available() {
  case $1 in
    asyncio) [ -n "$python" ] ;;
    nginx) [ -n "$nginx" ] ;;
    redis) [ -n "$redis" ] ;;
    *) true ;;
  esac
}

# start_server KIND NAME: starts it pinned to CPU 0 and waits until it
# serves. Sets SERVER_PID and SERVER_ADDR (HOST:PORT); logs go to
# logs/$tag.*. Returns 1 if it did not come up within 10 s.
start_server() {
  local kind=$1 name=$2
  case $kind:$name in
    echo:floor) announced tcp "$work/bin/epoll-echo" ;;
    echo:reactor) announced tcp "$reactor" echo -q ;;
    echo:tokio) announced tcp "$peers/tokio-echo" ;;
    echo:tokio-multi) announced tcp "$peers/tokio-echo" --multi ;;
    echo:threads) announced tcp "$peers/threads-echo" ;;
    echo:asyncio) announced tcp "$python" "$here/peers/asyncio_echo.py" ;;
    http:floor) announced http "$work/bin/epoll-http" ;;
    http:reactor) announced http "$reactor" http -q ;;
    http:hyper) announced http "$peers/hyper-hello" ;;
    http:nginx | idle:nginx) start_nginx ;;
    udp:floor) announced udp "$work/bin/udp-floor" ;;
    udp:reactor) announced udp "$reactor" udp-echo -q ;;
    chat:reactor) announced tcp "$reactor" chat -q ;;
    echo:baseline) announced tcp "$REACTOR_BASELINE" echo -q ;;
    http:baseline) announced http "$REACTOR_BASELINE" http -q ;;
    udp:baseline) announced udp "$REACTOR_BASELINE" udp-echo -q ;;
    chat:baseline) announced tcp "$REACTOR_BASELINE" chat -q ;;
    chat:redis | idle:redis) start_redis ;;
    # Idle memory: room for every idle connection the probe opens.
    idle:reactor-echo) announced tcp "$reactor" echo -q --max-conns 20000 ;;
    idle:reactor-chat) announced tcp "$reactor" chat -q --max-conns 20000 ;;
    *) echo "compare.sh: no server $name for $kind" >&2; return 1 ;;
  esac
}

# announced SCHEME CMD...: a server that takes --bind and prints
# `listening on SCHEME://HOST:PORT` (ours, the peers, the floors).
announced() {
  local scheme=$1 out="$work/logs/$tag.out"
  shift
  launch "$out" "$work/logs/$tag.err" "${pin_server[@]}" "$@" --bind 127.0.0.1:0
  SERVER_PID=$launched
  watchdog "$SERVER_PID" $((secs + 300))
  if ! wait_for_line "$out" "^listening on $scheme://" 10; then
    echo "  $tag: the server did not announce itself (see logs/$tag.err)"
    stop_pid "$SERVER_PID"
    return 1
  fi
  SERVER_ADDR=$(sed -n "s#^listening on $scheme://##p" "$out" | head -n 1)
}

# nginx as people benchmark it: one worker, `return 200` from memory.
# keepalive_requests is raised from its default of 1,000 so that wrk and
# reactor load keep their connections for the whole run, as they do with
# every other server here. start_nginx N: N workers, each with its own
# listening socket (`reuseport`), as its users scale it.
start_nginx() {
  local dir="$work/nginx/$tag" port workers=${1:-1} reuseport=""
  [ "$workers" -gt 1 ] && reuseport=" reuseport"
  port=$(free_port)
  mkdir -p "$dir/logs" "$dir/tmp"
  cat >"$dir/nginx.conf" <<EOF
worker_processes $workers;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 100000000;
  client_body_temp_path $dir/tmp;
  server {
    listen 127.0.0.1:$port$reuseport;
    location / {
      default_type text/plain;
      return 200 "Hello, World!";
    }
  }
}
EOF
  launch "$work/logs/$tag.out" "$work/logs/$tag.err" \
    "${pin_server[@]}" "$nginx" -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log"
  SERVER_PID=$launched
  SERVER_ADDR=127.0.0.1:$port
  watchdog "$SERVER_PID" $((secs + 300))
  wait_for_port "$port" 10 || { echo "  $tag: nginx did not start (see $dir/logs/error.log)"; stop_pid "$SERVER_PID"; return 1; }
}

# Redis with nothing written to disk, listening on loopback only.
start_redis() {
  local port
  port=$(free_port)
  launch "$work/logs/$tag.out" "$work/logs/$tag.err" \
    "${pin_server[@]}" "$redis" --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --maxclients 20000 --logfile "$work/logs/$tag.redis.log"
  SERVER_PID=$launched
  SERVER_ADDR=127.0.0.1:$port
  watchdog "$SERVER_PID" $((secs + 300))
  wait_for_port "$port" 10 || { echo "  $tag: redis-server did not start (see logs/$tag.redis.log)"; stop_pid "$SERVER_PID"; return 1; }
}
