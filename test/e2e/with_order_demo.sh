#!/usr/bin/env bash
# Starts the built order-demo ($ES_DEMO_BINARY) on a free port, runs a check against it, then
# stops it with SIGTERM and requires a clean exit.
#   with_order_demo.sh [order-demo options...] -- CHECK [ARGS...]
# CHECK gets the service's base URL as its first argument. Without "-- CHECK" it runs the README
# scenario (scripts/demo_scenario.py), which fails on any unexpected answer.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
demo_args=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do demo_args+=("$1"); shift; done
[ $# -gt 0 ] && shift
check=("$@")
[ ${#check[@]} -gt 0 ] || check=(python3 "$here/../../scripts/demo_scenario.py")

port_file=$(mktemp)
"$ES_DEMO_BINARY" --port 0 --port-file "$port_file" --log-level warn "${demo_args[@]}" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$port_file"' EXIT
for _ in $(seq 1 200); do [ -s "$port_file" ] && break; sleep 0.05; done
[ -s "$port_file" ] || { echo "order-demo did not start" >&2; exit 1; }
"${check[0]}" "${check[@]:1}" "http://127.0.0.1:$(cat "$port_file")"
kill -TERM $pid
wait $pid   # a clean shutdown exits 0
trap - EXIT
rm -f "$port_file"
