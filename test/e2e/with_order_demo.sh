#!/usr/bin/env bash
# Starts the built order-demo ($ES_DEMO_BINARY) on a free port, runs a check against it, then
# stops it with SIGTERM and requires an orderly shutdown: exit code 0 within a few seconds, and
# the shutdown lines in its log (each part it started reports that it stopped).
#   with_order_demo.sh [order-demo options...] -- CHECK [ARGS...]
# CHECK gets the service's base URL as its first argument. Without "-- CHECK" it runs the README
# scenario (scripts/demo_scenario.py), which fails on any unexpected answer, and then sends the
# SIGTERM under load (graceful_shutdown.py: requests in flight, a stream of new ones, an idle and
# a stuck connection).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
demo_args=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do demo_args+=("$1"); shift; done
[ $# -gt 0 ] && shift
check=("$@")
under_load=0
drain_ms=3000
if [ ${#check[@]} -eq 0 ]; then
  check=(python3 "$here/../../scripts/demo_scenario.py")
  under_load=1
fi

port_file=$(mktemp)
log=$(mktemp)
# Info level: the shutdown lines are checked. The caller's options come last and win.
"$ES_DEMO_BINARY" --port 0 --port-file "$port_file" --log-level info --drain-ms "$drain_ms" "${demo_args[@]}" >"$log" 2>&1 &
pid=$!
# The service's log is printed at the end, whatever the outcome: callers grep it (security_test.sh
# checks that URLs are logged redacted) and a failure needs it.
cleanup() {
  kill $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  echo "---- order-demo log ----"; cat "$log"; echo "------------------------"
  rm -f "$port_file" "$log"
}
trap cleanup EXIT
for _ in $(seq 1 200); do [ -s "$port_file" ] && break; sleep 0.05; done
[ -s "$port_file" ] || { echo "order-demo did not start" >&2; exit 1; }
url="http://127.0.0.1:$(cat "$port_file")"
"${check[0]}" "${check[@]:1}" "$url" || exit 1

# A process that does not end by itself is killed after the limit, which fails the test below
# instead of hanging it until the ctest timeout. (It is our child: until waited for, an ended one
# is a zombie, state Z.)
ended() { [ ! -e /proc/$pid ] || [ "$(sed 's/.*) //' /proc/$pid/stat 2>/dev/null | cut -d' ' -f1)" = Z ]; }
limit=$(( drain_ms / 1000 + 10 ))
started=$(date +%s%N)
if [ $under_load = 1 ]; then
  python3 "$here/graceful_shutdown.py" "$url" $pid "$drain_ms" || exit 1
else
  kill -TERM $pid
fi
deadline=$(( $(date +%s) + limit ))
while ! ended && [ "$(date +%s)" -lt $deadline ]; do sleep 0.05; done
ended || kill -KILL $pid
rc=0
wait $pid || rc=$?
took_ms=$(( ($(date +%s%N) - started) / 1000000 ))
if [ $rc -ne 0 ]; then
  echo "order-demo exited with $rc ${took_ms} ms after SIGTERM (137: killed after ${limit} s)" >&2
  exit 1
fi

# The orderly shutdown, line by line: each part that was started says it stopped.
expect=("signal 15: stopping" "HTTP server stopped" "order-demo stopped cleanly")
grep -q "event bus: Redis stream" "$log" && expect+=("event bus stopped")
grep -q "publishing through the outbox relay" "$log" && expect+=("outbox relay stopped")
[ $under_load = 1 ] && expect+=("HTTP server stopped: .* 1 cut")
for line in "${expect[@]}"; do
  grep -q -- "$line" "$log" || { echo "order-demo's log lacks \"$line\"" >&2; exit 1; }
done
echo "order-demo stopped cleanly: exit code 0, ${took_ms} ms after the shutdown check began"
