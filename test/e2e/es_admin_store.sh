#!/usr/bin/env bash
# es-admin's store commands against the test PostgreSQL: data written by order-demo is listed,
# read and tailed; bad input is one clear line and a non-zero exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
admin=$ES_ADMIN_BINARY
export ES_STORE="$ES_TEST_PG_CONNINFO"
port_file=$(mktemp)
"$ES_DEMO_BINARY" --store "$ES_TEST_PG_CONNINFO" --port 0 --port-file "$port_file" --log-level warn &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$port_file"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
for _ in $(seq 1 200); do [ -s "$port_file" ] && break; sleep 0.05; done
# order-demo uses the default schema "es"; es-admin reads it below with --schema es.
python3 "$here/../../scripts/demo_scenario.py" "http://127.0.0.1:$(cat "$port_file")" >/dev/null

stats=$("$admin" store stats --schema es --json)
python3 -c "import json,sys; s=json.loads(sys.argv[1]); assert s['events'] >= 5 and s['readable_position'] >= 5, s" "$stats" \
  || fail "stats: $stats"
stream=$("$admin" store streams --schema es --aggregate-type order --json | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['stream_id'])")
"$admin" store read "$stream" --schema es | grep -q OrderPlaced || fail "read $stream shows no OrderPlaced"
"$admin" store read "$stream" --schema es --backwards --count 1 --json | python3 -c "
import json,sys; e=json.load(sys.stdin); assert len(e)==1 and e[0]['stream_version']>1, e" || fail "read --backwards"
"$admin" store read-all --schema es --type OrderCancelled --json | python3 -c "
import json,sys; e=json.load(sys.stdin); assert e and all(x['event_type']=='OrderCancelled' for x in e), e" || fail "read-all --type"
# tail from the start stops after --count events
[ "$("$admin" store tail --schema es --after 0 --count 3 | wc -l)" = 3 ] || fail "tail --count 3"

set +e
out=$("$admin" store read order-does-not-exist --schema es 2>&1); rc=$?
[ $rc -eq 1 ] && [ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -q "does not exist" || fail "missing stream: rc=$rc $out"
out=$("$admin" store stats --store "host=127.0.0.1 port=1 dbname=x connect_timeout=2" 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "no connection to PostgreSQL" || fail "server down: rc=$rc $out"
out=$("$admin" store read-all --count abc 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "whole number" || fail "bad --count: rc=$rc $out"
out=$("$admin" store frobnicate 2>&1); rc=$?
[ $rc -eq 2 ] || fail "unknown command: rc=$rc $out"
out=$("$admin" store stats --schema 'x;drop' 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -qi "schema" || fail "hostile schema: rc=$rc $out"
set -e
echo "es-admin store commands: ok"
