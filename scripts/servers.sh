# Sourced by test.sh: starts a redis-server, a Redis sentinel that monitors it, and three
# memcached on free loopback ports of their own, waits until each answers, exports
# GENCACHE_REDIS_URL, GENCACHE_REDIS_SENTINEL_URL and GENCACHE_MEMCACHED_URL for the remote
# test suites, and stops them when the calling shell exits, whatever happens. A URL already
# in the environment is used as it is, and nothing is started for it (nor a sentinel for a
# Redis given that way).

gencache_server_pids=()
gencache_server_dir=""

gencache_stop_servers() {
  local pid
  for pid in "${gencache_server_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${gencache_server_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  gencache_server_pids=()
  if [ -n "$gencache_server_dir" ]; then rm -rf "$gencache_server_dir"; fi
  gencache_server_dir=""
}
trap gencache_stop_servers EXIT

gencache_port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The first port from $1 on that nothing listens on.
gencache_free_port() {
  local port=$1
  while gencache_port_taken "$port"; do port=$((port + 1)); done
  echo "$port"
}

# Waits up to 10 s for a listener on port $1 (server startup: a script may poll).
gencache_wait_port() {
  local tries=0
  until gencache_port_taken "$1"; do
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ]; then echo "servers: nothing answers on port $1" >&2; return 1; fi
    sleep 0.1
  done
}

if [ -z "${GENCACHE_REDIS_URL:-}" ]; then
  port=$(gencache_free_port 6390)
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --logfile '' --loglevel warning </dev/null >/dev/null &
  gencache_server_pids+=($!)
  gencache_wait_port "$port"
  export GENCACHE_REDIS_URL="redis://127.0.0.1:$port"
  # A sentinel that monitors it (as "gencache"), for the suites' redis-sentinel:// fixture.
  # It rewrites its config file, so the file lives in a directory of our own.
  if [ -z "${GENCACHE_REDIS_SENTINEL_URL:-}" ]; then
    gencache_server_dir=$(mktemp -d)
    sentinel_port=$(gencache_free_port 26390)
    printf 'port %s\nbind 127.0.0.1\nsentinel monitor gencache 127.0.0.1 %s 1\n' \
      "$sentinel_port" "$port" >"$gencache_server_dir/sentinel.conf"
    redis-server "$gencache_server_dir/sentinel.conf" --sentinel --logfile '' \
      --loglevel warning </dev/null >/dev/null &
    gencache_server_pids+=($!)
    gencache_wait_port "$sentinel_port"
    export GENCACHE_REDIS_SENTINEL_URL="redis-sentinel://127.0.0.1:$sentinel_port/gencache"
  fi
fi

if [ -z "${GENCACHE_MEMCACHED_URL:-}" ]; then
  user=()
  if [ "$(id -u)" -eq 0 ]; then user=(-u root); fi
  servers=()
  port=11290
  for _ in 1 2 3; do
    port=$(gencache_free_port "$port")
    memcached -l 127.0.0.1 -p "$port" -U 0 -m 64 "${user[@]}" </dev/null >/dev/null 2>&1 &
    gencache_server_pids+=($!)
    gencache_wait_port "$port"
    servers+=("127.0.0.1:$port")
    port=$((port + 1))
  done
  GENCACHE_MEMCACHED_URL="memcached://$(IFS=,; echo "${servers[*]}")"
  export GENCACHE_MEMCACHED_URL
fi

echo "servers: $GENCACHE_REDIS_URL $GENCACHE_MEMCACHED_URL"
