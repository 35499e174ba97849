#!/usr/bin/env bash
# The docker-compose topology without Docker: redis-server (AOF on) and PostgreSQL on 127.0.0.1,
# two order-demo API replicas and a projector, all as plain processes. Prints the URLs and runs
# until Ctrl-C. ES_TOPOLOGY_ORDERS=N drives N orders through it first and checks the projection.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target order-demo -j "$(nproc)"
source scripts/lib/servers.sh
source scripts/lib/topology.sh
trap 'stop_topology; stop_servers' EXIT
start_redis
start_postgres
start_topology build/release/apps/order-demo/order-demo "$ES_TEST_PG_CONNINFO" "redis://127.0.0.1:$ES_TEST_REDIS_PORT" orders
if [ -n "${ES_TOPOLOGY_ORDERS:-}" ]; then
  python3 test/e2e/topology_load.py "$ES_TOPOLOGY_ORDERS" "$ES_API1_URL" "$ES_API2_URL" "$ES_PROJECTOR_URL"
fi
echo "API: $ES_API1_URL and $ES_API2_URL; projector (dashboard, GET /orders): $ES_PROJECTOR_URL. Ctrl-C stops everything."
wait
