#!/usr/bin/env bash
# es-admin's bus and dlq commands against the test redis-server, on data written by order-demo.
#   es_admin_bus.sh BASE_URL   (run through with_order_demo.sh with --bus and --stream-prefix $ES_STREAM_PREFIX)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
base=$1
admin=$ES_ADMIN_BINARY
export ES_BUS="redis://127.0.0.1:$ES_TEST_REDIS_PORT"
rc() { redis-cli -h 127.0.0.1 -p "$ES_TEST_REDIS_PORT" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

python3 "$here/../../scripts/demo_scenario.py" "$base" >/dev/null

"$admin" bus info | grep -q "order-summary" || fail "bus info lists no order-summary group"
"$admin" bus info --json | jq_py "assert d['length'] >= 5 and {g['name'] for g in d['groups']} >= {'order-summary','notifications'}, d" \
  || fail "bus info --json"
first=$("$admin" bus history --count 1 --json | jq_py "print(d[0]['message_id'])")
"$admin" bus history --count 3 | grep -q OrderPlaced || fail "bus history"
"$admin" bus pending --group order-summary --json | jq_py "assert isinstance(d, list), d" || fail "bus pending"

# A malformed entry goes to the DLQ (once per group); list, replay one, replay all, purge.
rc XADD "$ES_STREAM_PREFIX:stream" '*' event_type OrderPlaced garbage 1 >/dev/null
for _ in $(seq 1 100); do [ "$(rc XLEN "$ES_STREAM_PREFIX:stream_dlq")" -ge 2 ] && break; sleep 0.1; done
letters=$("$admin" dlq list --json)
echo "$letters" | jq_py "assert len(d) >= 2 and 'malformed' in d[0]['reason'], d" || fail "dlq list: $letters"
id=$(echo "$letters" | jq_py "print(d[0]['id'])")
"$admin" dlq replay "$id" | grep -q "replayed $id" || fail "dlq replay"
set +e
out=$("$admin" dlq replay "$id" 2>&1); code=$?
set -e
[ $code -eq 1 ] && echo "$out" | grep -q "no dead letter" || fail "replaying a missing dead letter: $code $out"
"$admin" dlq replay-all --json | jq_py "assert d['replayed'] >= 1, d" || fail "dlq replay-all"
for _ in $(seq 1 50); do [ "$(rc XLEN "$ES_STREAM_PREFIX:stream_dlq")" -ge 1 ] && break; sleep 0.1; done
set +e; "$admin" dlq purge >/dev/null 2>&1; code=$?; set -e
[ $code -eq 2 ] || fail "purge without --yes must refuse"
"$admin" dlq purge --yes --json | jq_py "assert d['purged'] >= 1, d" || fail "dlq purge"
[ "$(rc XLEN "$ES_STREAM_PREFIX:stream_dlq")" = 0 ] || fail "DLQ not empty after purge"

# Rebuild: the notifications group is reset and re-delivers everything to the running service.
sent_before=$(curl -s "$base/stats" | jq_py "print(d['notifications_sent'])")
set +e; "$admin" bus rebuild --group notifications >/dev/null 2>&1; code=$?; set -e
[ $code -eq 2 ] || fail "rebuild without --yes must refuse"
"$admin" bus rebuild --group notifications --yes --timeout 60s --json | jq_py "assert d['reprocessed'] >= 5, d" \
  || fail "bus rebuild"
sent_after=$(curl -s "$base/stats" | jq_py "print(d['notifications_sent'])")
[ "$sent_after" -gt "$sent_before" ] || fail "rebuild re-delivered nothing ($sent_before -> $sent_after)"
set +e; out=$("$admin" bus rebuild --group no-such-group --yes 2>&1); code=$?; set -e
[ $code -eq 1 ] && echo "$out" | grep -q "no consumer group" || fail "rebuild of an unknown group: $code $out"

# Replay re-adds stored events for the current subscribers; trim shortens the stream.
"$admin" bus replay "$first" --count 2 --json | jq_py "assert d['replayed'] == 2, d" || fail "bus replay"
before=$(rc XLEN "$ES_STREAM_PREFIX:stream")
"$admin" bus trim --max-len 0 --yes --json | jq_py "assert d['trimmed'] >= 0, d" || fail "bus trim"
[ "$(rc XLEN "$ES_STREAM_PREFIX:stream")" -le "$before" ] || fail "trim grew the stream"

set +e
out=$("$admin" bus info --bus redis://127.0.0.1:1 2>&1); code=$?
[ $code -eq 1 ] && [ "$(echo "$out" | wc -l)" = 1 ] || fail "server down must be one line: $code $out"
out=$("$admin" bus info --bus http://nope 2>&1); code=$?
[ $code -ne 0 ] && [ "$(echo "$out" | wc -l)" = 1 ] || fail "bad URL must be one line: $code $out"
out=$("$admin" bus info --stream-prefix "no-such-$$" 2>&1); code=$?
[ $code -eq 1 ] && echo "$out" | grep -q "does not exist" || fail "unknown stream: $code $out"
out=$("$admin" bus pending 2>&1); code=$?
[ $code -eq 2 ] || fail "pending without --group: $code $out"
set -e
echo "es-admin bus and dlq commands: ok"
