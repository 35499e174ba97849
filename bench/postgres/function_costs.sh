#!/usr/bin/env bash
# What each part of the append path costs the server (cited in docs/benchmarks.md, "PostgreSQL"):
#  1. pgbench at 16 clients with synchronous_commit off (the server's CPU is the limit, not the
#     disk) calls the plain INSERT of the append benchmarks' ceiling, append_events, and copies of
#     append_events with one part removed;
#  2. 50 calls of append_events_group with 64 one-event appends each, from psql.
# Starts its own PostgreSQL on 127.0.0.1 (scripts/lib/servers.sh). Usage:
#   bench/postgres/function_costs.sh [build dir with bench/postgres/bench_postgres]  (default build/release)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
bench_bin="$build/bench/postgres/bench_postgres"
# shellcheck source=../../scripts/lib/build_target.sh
source scripts/lib/build_target.sh
build_target "$build" bench_postgres
seconds=${ES_BENCH_SECONDS:-4}

# shellcheck source=../../scripts/lib/servers.sh
source scripts/lib/servers.sh
work=$(mktemp -d)
trap 'rm -rf "$work"; stop_servers' EXIT
start_postgres >/dev/null 2>&1
"$bench_bin" --schema bench --no-appends --read-all-only >/dev/null 2>&1  # creates the schema
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
psql=("$pg_bin/psql" -h 127.0.0.1 -p "$ES_TEST_PG_PORT" -U postgres -qAt -v ON_ERROR_STOP=1 es_test)

# The function as the migrations define it, and copies without one part each.
python3 - libs/postgres/src/schema.cpp > "$work/variants.sql" <<'PY'
import sys
src = open(sys.argv[1]).read()
start = src.index("CREATE FUNCTION {s}.append_events(")
fn = src[start:src.index("$fn$;", start) + len("$fn$;")].replace("{s}", "bench")
critical = fn[fn.index("    v_ok := pg_advisory_lock(25971"):fn.index("    v_ok := pg_advisory_unlock(25971")]
cuts = {
    "ae_full": [],
    "ae_no_stream_lock": [("    v_ok := pg_advisory_xact_lock(hashtextextended('bench.' || p_stream, 0)) IS NULL;\n", "")],
    "ae_no_global_order": [(critical, "    v_xid := pg_current_xact_id();\n    v_first := nextval('bench.events_global_position_seq');\n"),
                           ("    v_ok := pg_advisory_unlock(25971, hashtext('bench.events'));\n", "")],
    "ae_no_version_probe": [("    SELECT coalesce(max(stream_version), 0) INTO v_current FROM bench.events WHERE stream_id = p_stream;\n",
                             "    v_current := 0;\n")],
}
for name, edits in cuts.items():
    f = fn.replace("bench.append_events(", f"bench.{name}(", 1)
    for old, new in edits:
        assert old in f, (name, old[:60])
        f = f.replace(old, new)
    print(f)
PY
"${psql[@]}" -f "$work/variants.sql"

payload='{"sku": "SKU-100001", "quantity": 2, "price_cents": 1299, "note": "gift wrap please, deliver to the back door; thank you for the quick service!! Ring twice; if nobody answers, leave it with the neighbour at number 12."}'
metadata='{"correlation_id": "3f2c1a9e-5d7b-4c2a-9e1f-0a1b2c3d4e5f", "causation_id": "7d9e8f0a-1b2c-4d3e-8f9a-0b1c2d3e4f5a", "tenant_id": "tenant-1"}'
event="{\"event_id\": \"' || gen_random_uuid() || '\", \"event_type\": \"ItemAdded\", \"schema_version\": 1, \"aggregate_type\": \"cart\", \"aggregate_id\": \"bench\", \"occurred_at\": \"2026-11-22T04:00:00.000000Z\", \"metadata\": $metadata, \"payload\": $payload}"
cols="stream_id, stream_version, event_id, event_type, schema_version, aggregate_type, aggregate_id, tenant_id, payload, metadata, occurred_at"
echo "INSERT INTO bench.events ($cols) VALUES (gen_random_uuid()::text, 1, gen_random_uuid(), 'ItemAdded', 1, 'cart', 'bench', 'tenant-1', '$payload'::jsonb, '$metadata'::jsonb, now());" > "$work/insert.sql"
for f in ae_full ae_no_stream_lock ae_no_global_order ae_no_version_probe; do
  # kind 1 (no_stream) on a new stream per call; kind 0 (any) on the client's own stream
  echo "SELECT * FROM bench.$f(gen_random_uuid()::text, 1, 0, ('[$event]')::jsonb, false);" > "$work/new_$f.sql"
  echo "SELECT * FROM bench.$f('own-' || :client_id || '-$f', 0, 0, ('[$event]')::jsonb, false);" > "$work/own_$f.sql"
done
tps() {  # a failed run (a client aborted on an error) stops the script with pgbench's message
  local out
  out=$(PGOPTIONS='-c synchronous_commit=off' "$pg_bin/pgbench" -h 127.0.0.1 -p "$ES_TEST_PG_PORT" -U postgres -n \
    -M prepared -c 16 -j 2 -T "$seconds" -f "$1" es_test 2>&1) || { echo "pgbench failed on $1: $out" >&2; exit 1; }
  if grep -q "aborted" <<<"$out"; then echo "pgbench: clients aborted on $1: $out" >&2; exit 1; fi
  sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | cut -d. -f1
}
echo "| what runs per transaction (pgbench, 16 clients, synchronous_commit off) | transactions/s |"
echo "|---|---|"
echo "| the plain INSERT (the append benchmarks' ceiling) | $(tps "$work/insert.sql") |"
echo "| append_events, appending to the client's own stream | $(tps "$work/own_ae_full.sql") |"
echo "| the same without the stream's advisory lock | $(tps "$work/own_ae_no_stream_lock.sql") |"
echo "| the same without the global-order critical section | $(tps "$work/own_ae_no_global_order.sql") |"
echo "| append_events creating a new stream each time | $(tps "$work/new_ae_full.sql") |"
echo "| the same without the version probe | $(tps "$work/new_ae_no_version_probe.sql") |"
echo "| the plain INSERT again (drift of the machine) | $(tps "$work/insert.sql") |"

# One group-commit call for 64 one-event appends, as the store sends it, 50 times.
"${psql[@]}" > "$work/groups.sql" <<SQL
SELECT 'SELECT count(*) FROM bench.append_events_group(' || quote_literal(d::text) || '::jsonb);' FROM (
  SELECT r, jsonb_agg(jsonb_build_object('s', 'group-' || r || '-' || i, 'k', 1, 'x', 0,
         'e', jsonb_build_array(('$event')::jsonb))) AS d
    FROM generate_series(1, 50) r, generate_series(1, 64) i GROUP BY r) x ORDER BY r;
SQL
( echo "SET synchronous_commit = off;"; cat "$work/groups.sql" ) > "$work/groups_off.sql"
t0=$(date +%s.%N)
"${psql[@]}" -f "$work/groups_off.sql" >/dev/null
t1=$(date +%s.%N)
stored=$("${psql[@]}" -c "SELECT count(*) FROM bench.events WHERE stream_id LIKE 'group-%'")
[ "$stored" = 3200 ] || { echo "function_costs.sh: the group calls stored $stored of 3200 events" >&2; exit 1; }
python3 -c "print('\nappend_events_group, 64 one-event appends per call, synchronous_commit off, as psql sees it'
               ' (connection and sending the SQL included): %.2f ms per call, %.0f us per append' % (($t1 - $t0) * 1000 / 50, ($t1 - $t0) * 1e6 / 3200))"
