# Starts and stops throw-away redis-server and PostgreSQL instances on 127.0.0.1 for tests,
# benchmarks and the demo on real backends. Source it, then call start_redis / start_postgres;
# stop_servers runs on exit. Data lives in a temporary directory that is removed afterwards.
#
# Exports:
#   ES_TEST_REDIS_PORT, ES_TEST_REDIS_CONF  (redis-server <conf> restarts the same server)
#   ES_TEST_REDIS_TLS_PORT, ES_TEST_REDIS_CA_FILE  (TLS port of the same server, self-signed CA)
#   ES_TEST_REDIS_ACL_USER, ES_TEST_REDIS_ACL_PASSWORD  (an ACL user with a password)
#   ES_TEST_PG_CONNINFO, ES_TEST_PG_PORT, ES_TEST_PG_DATA, ES_TEST_PG_CTL (pg_ctl wrapper)
#   ES_TEST_PG_APP_USER, ES_TEST_PG_APP_PASSWORD  (a role that must log in with a password)

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

# A throw-away CA and a server certificate for 127.0.0.1, for the Redis TLS port.
make_redis_tls_files() {
  local dir=$1
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=eventsource-test-ca" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$dir/server.key" -out "$dir/server.csr" >/dev/null 2>&1
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 2 -extfile "$dir/server.ext" -out "$dir/server.crt" >/dev/null 2>&1
}

start_redis() {
  local port tls_port dir acl_password
  port=$(free_port)
  tls_port=$(free_port)
  dir="$ES_SERVERS_DIR/redis"
  mkdir -p "$dir"
  make_redis_tls_files "$dir" || { echo "openssl could not make the Redis test certificates" >&2; return 1; }
  acl_password="es-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
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
tls-port $tls_port
tls-cert-file $dir/server.crt
tls-key-file $dir/server.key
tls-ca-cert-file $dir/ca.crt
tls-auth-clients no
CONF
  redis-server "$dir/redis.conf"
  for _ in $(seq 1 100); do
    redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.05
  done
  redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null || { echo "redis-server did not start; log:" >&2; cat "$dir/redis.log" >&2; return 1; }
  # The ACL user lives in the config too, so that a restart with the same config keeps it.
  redis-cli -h 127.0.0.1 -p "$port" ACL SETUSER es-test on ">$acl_password" '~*' '&*' +@all >/dev/null
  echo "user es-test on >$acl_password ~* &* +@all" >> "$dir/redis.conf"
  export ES_TEST_REDIS_PORT=$port ES_TEST_REDIS_CONF="$dir/redis.conf"
  export ES_TEST_REDIS_TLS_PORT=$tls_port ES_TEST_REDIS_CA_FILE="$dir/ca.crt"
  export ES_TEST_REDIS_ACL_USER=es-test ES_TEST_REDIS_ACL_PASSWORD=$acl_password
  echo "servers: redis-server on 127.0.0.1:$port (TLS on $tls_port)"
}

start_postgres() {
  local port dir
  port=$(free_port)
  dir="$ES_SERVERS_DIR/pg"
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir"; fi
  as_pg_user "$ES_PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$ES_SERVERS_DIR/initdb.log" 2>&1 \
    || { cat "$ES_SERVERS_DIR/initdb.log" >&2; return 1; }
  # An application role that must authenticate with a password (SCRAM); the superuser keeps
  # trust for the test fixtures. First matching pg_hba line wins, so the role's line goes first.
  local app_password
  app_password=$(openssl rand -hex 12)
  { echo "host all es_app 127.0.0.1/32 scram-sha-256"; cat "$dir/data/pg_hba.conf"; } > "$dir/pg_hba.new"
  mv "$dir/pg_hba.new" "$dir/data/pg_hba.conf"
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir/data/pg_hba.conf"; fi
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
  as_pg_user "$ES_PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d es_test -q \
    -c "CREATE ROLE es_app LOGIN PASSWORD '$app_password'" -c "GRANT CREATE ON DATABASE es_test TO es_app" >/dev/null
  export ES_TEST_PG_CONNINFO="host=127.0.0.1 port=$port user=postgres dbname=es_test"
  export ES_TEST_PG_APP_USER=es_app ES_TEST_PG_APP_PASSWORD=$app_password
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
