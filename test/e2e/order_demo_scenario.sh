#!/usr/bin/env bash
# Starts the built order-demo on a free port and runs the README scenario against it
# (scripts/demo_scenario.py fails on any unexpected answer). Extra arguments go to order-demo,
# e.g. --store "$ES_TEST_PG_CONNINFO"; with none it runs on the embedded default.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
port_file=$(mktemp)
"$ES_DEMO_BINARY" --port 0 --port-file "$port_file" --log-level warn "$@" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$port_file"' EXIT
for _ in $(seq 1 200); do [ -s "$port_file" ] && break; sleep 0.05; done
[ -s "$port_file" ] || { echo "order-demo did not start" >&2; exit 1; }
python3 "$here/../../scripts/demo_scenario.py" "http://127.0.0.1:$(cat "$port_file")"
kill -TERM $pid
wait $pid   # a clean shutdown exits 0
trap - EXIT
rm -f "$port_file"
