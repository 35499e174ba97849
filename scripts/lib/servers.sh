# Starts and stops throw-away redis-server and PostgreSQL instances on 127.0.0.1 for tests,
# benchmarks and the demo on real backends. Source it, then call start_redis / start_postgres;
# stop_servers runs on exit. Data lives in a temporary directory that is removed afterwards.
#
# Exports:
#   ES_TEST_REDIS_PORT, ES_TEST_REDIS_CONF  (redis-server <conf> restarts the same server)
#   ES_TEST_PG_CONNINFO, ES_TEST_PG_PORT, ES_TEST_PG_DATA, ES_TEST_PG_CTL (pg_ctl wrapper)

ES_SERVERS_DIR=${ES_SERVERS_DIR:-$(mktemp -d /tmp/es-servers.XXXXXX)}
chmod 755 "$ES_SERVERS_DIR"
ES_PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Runs a command as the postgres user when we are root (PostgreSQL refuses to run as root).
as_pg_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_redis() {
  local port dir
  port=$(free_port)
  dir="$ES_SERVERS_DIR/redis"
  mkdir -p "$dir"
  cat > "$dir/redis.conf" <<CONF
bind 127.0.0.1
port $port
dir $dir
daemonize yes
pidfile $dir/redis.pid
logfile $dir/redis.log
save ""
appendonly yes
appendfsync everysec
protected-mode yes
CONF
  redis-server "$dir/redis.conf"
  for _ in $(seq 1 100); do
    redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.05
  done
  redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null || { echo "redis-server did not start; log:" >&2; cat "$dir/redis.log" >&2; return 1; }
  export ES_TEST_REDIS_PORT=$port ES_TEST_REDIS_CONF="$dir/redis.conf"
  echo "servers: redis-server on 127.0.0.1:$port"
}

start_postgres() {
  local port dir
  port=$(free_port)
  dir="$ES_SERVERS_DIR/pg"
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir"; fi
  as_pg_user "$ES_PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$ES_SERVERS_DIR/initdb.log" 2>&1 \
    || { cat "$ES_SERVERS_DIR/initdb.log" >&2; return 1; }
  cat >> "$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
fsync = on
synchronous_commit = on
shared_buffers = 256MB
CONF
  export ES_TEST_PG_PORT=$port ES_TEST_PG_DATA="$dir/data"
  export ES_TEST_PG_CTL="$ES_SERVERS_DIR/pg_ctl"
  cat > "$ES_TEST_PG_CTL" <<WRAP
#!/usr/bin/env bash
# pg_ctl for the test server, run as the right user: pg_ctl start|stop|restart [-m fast]
if [ "\$(id -u)" -eq 0 ]; then exec runuser -u postgres -- "$ES_PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w "\$@"
else exec "$ES_PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w "\$@"; fi
WRAP
  chmod +x "$ES_TEST_PG_CTL"
  "$ES_TEST_PG_CTL" start >/dev/null || { cat "$dir/pg.log" >&2; return 1; }
  as_pg_user "$ES_PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE es_test" >/dev/null
  export ES_TEST_PG_CONNINFO="host=127.0.0.1 port=$port user=postgres dbname=es_test"
  echo "servers: postgresql on 127.0.0.1:$port"
}

stop_servers() {
  if [ -n "${ES_TEST_REDIS_PORT:-}" ]; then
    redis-cli -h 127.0.0.1 -p "$ES_TEST_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  fi
  if [ -n "${ES_TEST_PG_CTL:-}" ] && [ -x "$ES_TEST_PG_CTL" ]; then
    "$ES_TEST_PG_CTL" stop -m immediate >/dev/null 2>&1 || true
  fi
  rm -rf "$ES_SERVERS_DIR"
}
