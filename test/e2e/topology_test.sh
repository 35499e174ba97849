#!/usr/bin/env bash
# order-demo's production topology as processes (2 API replicas + 1 projector) against the test
# redis-server and PostgreSQL: 1,000 orders through the API, every one visible in the projection,
# no dead letters.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ES_SERVERS_DIR=$(mktemp -d)
source "$here/../../scripts/lib/topology.sh"
trap 'stop_topology; rm -rf "$ES_SERVERS_DIR"' EXIT
start_topology "$ES_DEMO_BINARY" "$ES_TEST_PG_CONNINFO" "redis://127.0.0.1:$ES_TEST_REDIS_PORT" "topology-$$"
python3 "$here/topology_load.py" "${ES_TOPOLOGY_ORDERS:-1000}" "$ES_API1_URL" "$ES_API2_URL" "$ES_PROJECTOR_URL"
