#!/usr/bin/env bash
# README command 1: builds order-demo and runs it on the embedded default (in-memory store and
# bus, no servers), drives a short scripted scenario against the running service over HTTP,
# prints what happened, and leaves the service up until Ctrl-C.
#   ES_DEMO_EXIT=1  stop after the scenario instead of waiting for Ctrl-C (used by the tests)
#   ES_PORT=N       listen port (default 8080; falls back to a free port when 8080 is taken)
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target order-demo -j "$(nproc)"

port=${ES_PORT:-8080}
if python3 -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1', $port))" 2>/dev/null; then :; else port=0; fi
port_file=$(mktemp)
./build/release/apps/order-demo/order-demo --port "$port" --port-file "$port_file" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$port_file"' EXIT
for _ in $(seq 1 100); do [ -s "$port_file" ] && break; sleep 0.05; done
[ -s "$port_file" ] || { echo "order-demo did not start" >&2; exit 1; }
base="http://127.0.0.1:$(cat "$port_file")"

python3 scripts/demo_scenario.py "$base"

if [ "${ES_DEMO_EXIT:-0}" = "1" ]; then exit 0; fi
echo
echo "order-demo is running at $base/  (dashboard: $base/, metrics: $base/metrics). Press Ctrl-C to stop."
wait $pid
