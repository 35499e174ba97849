# Starts order-demo's production topology as plain processes: two API replicas and a projector
# sharing the Redis consumer groups and the PostgreSQL store. Source it after servers.sh.
#   start_topology BINARY STORE_URL BUS_URL STREAM_PREFIX   -> exports ES_API1_URL ES_API2_URL ES_PROJECTOR_URL
#   stop_topology

ES_TOPOLOGY_PIDS=()

# Starts one process and sets ES_DEMO_URL. Not meant for $(…): the pid must be recorded in this
# shell, or stop_topology cannot stop the process.
start_demo_process() {  # ROLE NAME BINARY STORE BUS PREFIX
  local role=$1 name=$2 binary=$3 store=$4 bus=$5 prefix=$6
  local port_file="$ES_SERVERS_DIR/$name.port"
  rm -f "$port_file"
  "$binary" --role "$role" --store "$store" --bus "$bus" --stream-prefix "$prefix" --port 0 \
            --port-file "$port_file" --log-level "${ES_TOPOLOGY_LOG_LEVEL:-warn}" >"$ES_SERVERS_DIR/$name.log" 2>&1 &
  ES_TOPOLOGY_PIDS+=($!)
  for _ in $(seq 1 200); do [ -s "$port_file" ] && break; sleep 0.05; done
  [ -s "$port_file" ] || { echo "$name did not start:" >&2; cat "$ES_SERVERS_DIR/$name.log" >&2; return 1; }
  ES_DEMO_URL="http://127.0.0.1:$(cat "$port_file")"
}

start_topology() {
  local binary=$1 store=$2 bus=$3 prefix=$4
  start_demo_process projector projector "$binary" "$store" "$bus" "$prefix"
  ES_PROJECTOR_URL=$ES_DEMO_URL
  start_demo_process api api-1 "$binary" "$store" "$bus" "$prefix"
  ES_API1_URL=$ES_DEMO_URL
  start_demo_process api api-2 "$binary" "$store" "$bus" "$prefix"
  ES_API2_URL=$ES_DEMO_URL
  export ES_PROJECTOR_URL ES_API1_URL ES_API2_URL
  echo "topology: api-1 $ES_API1_URL, api-2 $ES_API2_URL, projector $ES_PROJECTOR_URL" >&2
}

stop_topology() {  # SIGTERM (graceful), then SIGKILL whatever is still there after 15 s
  local pid
  for pid in "${ES_TOPOLOGY_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 150); do
    local alive=0
    for pid in "${ES_TOPOLOGY_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pid in "${ES_TOPOLOGY_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  ES_TOPOLOGY_PIDS=()
}
