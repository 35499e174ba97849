#!/usr/bin/env bash
# Benchmarks the PostgreSQL event store and, in the same run and on the same schema, pgbench
# running the equivalent INSERTs (the ceiling). Prints each figure, its ceiling and the ratio as
# a Markdown table (docs/benchmarks.md, section "PostgreSQL").
#
#   scripts/bench-postgres.sh                        # 3 runs of 5 s per append shape and side
#   ES_BENCH_SECONDS=2 ES_BENCH_RUNS=1 scripts/bench-postgres.sh
#   ES_BENCH_QUICK=1 scripts/bench-postgres.sh       # 1 run of 1 s each, smaller COPY ceiling
#   ES_BENCH_GROWTH=1 scripts/bench-postgres.sh      # also the growth figures: 100k, 1M, 10M events
#                                                    # in the table (bulk-loaded with COPY; minutes)
#   ES_BENCH_RESULTS=file scripts/bench-postgres.sh  # also append one JSON object per figure to file:
#     {"name", "value", "unit", "ceiling", "ratio", "target", "met"} (null where there is none)
# Each append figure is the median of the runs (spread in brackets); in every run the store and
# pgbench run back to back, so that both see the same machine state.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=${ES_BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then
  seconds=${ES_BENCH_SECONDS:-1}
  runs=${ES_BENCH_RUNS:-1}
  copy_rows=20000
else
  seconds=${ES_BENCH_SECONDS:-5}
  runs=${ES_BENCH_RUNS:-3}
  copy_rows=50000
fi
group_writers=64
group_pgbench_clients=32
growth_sizes=${ES_BENCH_GROWTH_SIZES:-100000,1000000,10000000}
build=${ES_BENCH_BUILD:-build/bench-postgres}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DES_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target bench_postgres -j "${ES_JOBS:-2}" >/dev/null

# shellcheck source=lib/servers.sh
source scripts/lib/servers.sh
trap stop_servers EXIT
start_postgres >&2

work=$(mktemp -d)
trap 'rm -rf "$work"; stop_servers' EXIT
# The same row as the store writes: same table, indexes, identity position, xid8 default and a
# payload/metadata of the same size; without the store's version and idempotency checks.
payload='{"sku": "SKU-100001", "quantity": 2, "price_cents": 1299, "note": "gift wrap please, deliver to the back door; thank you for the quick service!! Ring twice; if nobody answers, leave it with the neighbour at number 12."}'
metadata='{"correlation_id": "3f2c1a9e-5d7b-4c2a-9e1f-0a1b2c3d4e5f", "causation_id": "7d9e8f0a-1b2c-4d3e-8f9a-0b1c2d3e4f5a", "tenant_id": "tenant-1"}'
cols="stream_id, stream_version, event_id, event_type, schema_version, aggregate_type, aggregate_id, tenant_id, payload, metadata, occurred_at"
cat > "$work/ev1.sql" <<SQL
INSERT INTO bench.events ($cols)
VALUES (gen_random_uuid()::text, 1, gen_random_uuid(), 'ItemAdded', 1, 'cart', 'bench', 'tenant-1', '$payload'::jsonb, '$metadata'::jsonb, now());
SQL
cat > "$work/ev10.sql" <<SQL
INSERT INTO bench.events ($cols)
SELECT s.id, g, gen_random_uuid(), 'ItemAdded', 1, 'cart', 'bench', 'tenant-1', '$payload'::jsonb, '$metadata'::jsonb, now()
FROM (SELECT gen_random_uuid()::text AS id) s, generate_series(1, 10) g;
SQL
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
bench_bin="$build/bench/postgres/bench_postgres"
pgbench() {  # events per call, clients, seconds -> transactions per second
  "$pg_bin/pgbench" -h 127.0.0.1 -p "$ES_TEST_PG_PORT" -U postgres -n -M prepared -c "$2" -j "$(( $2 < 2 ? 1 : 2 ))" \
    -T "$3" -f "$work/ev$1.sql" es_test 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
"$bench_bin" --schema bench --no-appends --read-all-only >/dev/null   # creates the schema
# Warm-up: a fresh cluster first has to create (zero-fill) its WAL segments, which would slow
# whichever side runs first.
pgbench 10 16 "$seconds" >/dev/null
"$bench_bin" --seconds "$seconds" --schema bench --append 10 16 >/dev/null
echo "PostgreSQL benchmarks: $runs run(s) of $seconds s per figure" >&2
for run in $(seq 1 "$runs"); do
  echo "run $run/$runs: group commit, $group_writers writers vs pgbench at $group_pgbench_clients clients" >&2
  "$bench_bin" --seconds "$seconds" --schema bench --group-commit "$group_writers" >> "$work/store.jsonl"
  tps=$(pgbench 1 "$group_pgbench_clients" "$seconds")
  echo "{\"name\": \"append_1ev_${group_writers}streams_group_commit\", \"pgbench_tps\": $tps, \"events_per_call\": 1}" >> "$work/pgbench.jsonl"
  if [ "$quick" != 1 ]; then  # how group commit scales with the number of writers (a plot, no target)
    for w in 16 256; do "$bench_bin" --seconds "$seconds" --schema bench --group-commit "$w" >> "$work/store.jsonl"; done
  fi
  echo "run $run/$runs: appends of 1 and 10 events, 1 and 16 writers" >&2
  for per_call in 1 10; do
    for clients in 1 16; do
      "$bench_bin" --seconds "$seconds" --schema bench --append "$per_call" "$clients" >> "$work/store.jsonl"
      tps=$(pgbench "$per_call" "$clients" "$seconds")
      echo "{\"name\": \"append_${per_call}ev_${clients}streams\", \"pgbench_tps\": $tps, \"events_per_call\": $per_call}" >> "$work/pgbench.jsonl"
    done
  done
done
echo "read_stream, aggregate load, read_all" >&2
"$bench_bin" --schema bench --no-appends >> "$work/store.jsonl"

# The ceilings, each the median of three runs after a CHECKPOINT, so that the WAL the appends
# above left behind is not written while they are measured (a single run once came out 10x low).
psql_cmd=("$pg_bin/psql" -h 127.0.0.1 -p "$ES_TEST_PG_PORT" -U postgres -qAt -v ON_ERROR_STOP=1 es_test)
"${psql_cmd[@]}" -c "CHECKPOINT"
median() { python3 -c "import statistics, sys; print(statistics.median(map(float, sys.argv[1:])))" "$@"; }
# Read ceiling: the server producing the same columns read_all selects, as text, with COPY.
events=$("${psql_cmd[@]}" -c "SELECT count(*) FROM bench.events")
read_rates=()
for i in 1 2 3; do
  t0=$(date +%s.%N)
  "${psql_cmd[@]}" -c "COPY (SELECT global_position, stream_id, stream_version, event_id::text, event_type, schema_version,
    aggregate_type, aggregate_id, payload::text, metadata::text, (extract(epoch FROM occurred_at) * 1000000)::bigint,
    (extract(epoch FROM recorded_at) * 1000000)::bigint FROM bench.events ORDER BY global_position) TO STDOUT" >/dev/null
  t1=$(date +%s.%N)
  read_rates+=("$(python3 -c "print($events / ($t1 - $t0))")")
done
echo "{\"name\": \"read_all\", \"ceiling\": $(median "${read_rates[@]}")}" > "$work/read.jsonl"
# Bulk ceiling (what group commit could approach): COPY of such rows in one transaction.
copy_rates=()
for i in 1 2 3; do
  python3 - "$payload" "$metadata" "$copy_rows" "$i" > "$work/rows.tsv" <<'PY'
import sys, uuid
for i in range(int(sys.argv[3])):
    print(f"copy-{sys.argv[4]}-{i // 10}\t{i % 10 + 1}\t{uuid.uuid4()}\tItemAdded\t1\tcart\tbench\ttenant-1\t{sys.argv[1]}\t{sys.argv[2]}\t2026-01-01T00:00:00Z")
PY
  t0=$(date +%s.%N)
  "${psql_cmd[@]}" -c "\\copy bench.events ($cols) FROM '$work/rows.tsv'"
  t1=$(date +%s.%N)
  copy_rates+=("$(python3 -c "print($copy_rows / ($t1 - $t0))")")
done
copy_rate=$(median "${copy_rates[@]}")
# Growth last: loading millions of rows leaves checkpoints and autovacuum behind it, which slow
# whatever is measured next (the COPY FROM ceiling, measured after it once, came out 6x lower).
: > "$work/growth.jsonl"
if [ "${ES_BENCH_GROWTH:-0}" = 1 ]; then
  echo "growth: $growth_sizes events in the table (bulk-loaded with COPY)" >&2
  "$bench_bin" --schema growth --growth "$growth_sizes" --growth-appends "$([ "$quick" = 1 ] && echo 500 || echo 2000)" \
    >> "$work/growth.jsonl"
fi

python3 - "$work/store.jsonl" "$work/pgbench.jsonl" "$seconds" "$work/read.jsonl" "$copy_rate" "$copy_rows" \
  "$work/growth.jsonl" "${ES_BENCH_RESULTS:-}" <<'PY'
import json, sys, statistics
raw = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
runs = {}
for d in raw:
    runs.setdefault(d["name"], []).append(d)
store = []
for name, ds in runs.items():  # median per figure, keeping the first run's extra fields
    d = dict(ds[0])
    d["value"] = statistics.median(x["value"] for x in ds)
    d["spread"] = (min(x["value"] for x in ds), max(x["value"] for x in ds), len(ds))
    store.append(d)
ceil_runs = {}
for d in map(json.loads, open(sys.argv[2])):
    ceil_runs.setdefault(d["name"], []).append(d["pgbench_tps"] * d["events_per_call"])
ceil = {k: statistics.median(v) for k, v in ceil_runs.items()}
copy_rate, copy_rows = float(sys.argv[5]), int(sys.argv[6])
growth = [json.loads(l) for l in open(sys.argv[7]) if l.startswith("{")]
results_path = sys.argv[8]
results = []

def result(name, value, unit, ceiling=None, target=None, what=None, spread_of=None):
    """One machine-readable figure; target is a ratio to the ceiling when there is one."""
    ratio = value / ceiling if ceiling else None
    met = None
    if target is not None:
        op, bound = target.split()
        x = ratio if ratio is not None else value
        met = x >= float(bound) if op == ">=" else x <= float(bound)
    fig = {"name": name, "value": round(value, 3), "unit": unit, "ceiling": round(ceiling, 3) if ceiling else None,
           "ratio": round(ratio, 3) if ratio is not None else None, "target": target, "met": met}
    if what:
        fig["what"] = what
    if spread_of and spread_of[2] > 1:
        fig["spread"] = [round(spread_of[0], 1), round(spread_of[1], 1)]
        fig["runs"] = spread_of[2]
    results.append(fig)
    return ratio

def spread(values):
    return f" [{min(values):,.0f}–{max(values):,.0f}]" if len(values) > 1 else ""
read_ceiling = json.loads(open(sys.argv[4]).read())["ceiling"]
n_runs = max(len(v) for v in ceil_runs.values())
print(f"PostgreSQL 15 on 127.0.0.1 (fsync on, synchronous_commit on); appends: median of {n_runs} runs of "
      f"{sys.argv[3]} s per shape [min–max]; ceiling = pgbench -M prepared running the same INSERT on the "
      "same table, back to back with the store in each run.\n")
print("| figure | value | ceiling | ratio | target |")
print("|---|---|---|---|---|")
for d in store:
    name, value, unit = d["name"], d["value"], d["unit"]
    lo, hi, n = d["spread"]
    s = f" [{lo:,.0f}–{hi:,.0f}]" if n > 1 else ""
    if name.endswith("_group_commit") and name not in ceil:
        result(name, value, unit, what=f"{d['writers']} coroutines, one event per append, group commit on "
               "(how it scales with writers)", spread_of=d["spread"])
        results[-1]["writers"] = d["writers"]
        print(f"| {name} (group commit, {d['writers']} writers) | {value:,.0f} {unit}{s} | – | – | – |")
    elif name.endswith("_group_commit"):
        c = ceil[name]
        r = result(name, value, unit, c, ">= 5", f"{d['writers']} coroutines, one event per append, group commit on, "
                   "vs pgbench 1 event per transaction at 32 clients", d["spread"])
        results[-1].update({"writers": d["writers"], "pgbench_clients": 32})
        print(f"| {name} (group commit, {d['writers']} writers, one event per append) | {value:,.0f} {unit}{s} | "
              f"{c:,.0f} events/s (pgbench, 1 event per transaction, 32 clients){spread(ceil_runs[name])} | {r:.2f} | >= 5 |")
        r = result(name + "_vs_copy", value, unit, copy_rate, ">= 0.5",
                   f"the same group-commit figure vs COPY FROM of {copy_rows:,} rows in one transaction")
        print(f"| {name} vs the bulk ceiling | {value:,.0f} {unit} | {copy_rate:,.0f} events/s (COPY FROM, {copy_rows:,} rows) "
              f"| {r:.2f} | >= 0.5 |")
    elif name in ceil:
        c = ceil[name]
        r = result(name, value, unit, c, ">= 0.9", f"{d['writers']} writer(s), {d['events_per_call']} event(s) per "
                   "append, vs pgbench -M prepared running the same INSERT with as many clients", d["spread"])
        results[-1].update({"writers": d["writers"], "events_per_call": d["events_per_call"], "pgbench_clients": d["writers"]})
        print(f"| {name} | {value:,.0f} {unit}{s} | {c:,.0f} events/s (pgbench){spread(ceil_runs[name])} | {r:.2f} | >= 0.9 |")
    elif name == "read_all":
        r = result(name, value, unit, read_ceiling, None,
                   f"read_all of {d['events']:,} events in pages of 1,000 vs COPY TO of the same columns")
        print(f"| {name} ({d['events']:,} events, pages of 1,000) | {value:,.0f} {unit} | {read_ceiling:,.0f} events/s (COPY TO of the same columns) "
              f"| {r:.2f} | – |")
    elif unit == "ms":
        result(name, value, unit, what={"aggregate_load_10k_no_snapshot": "repository load of a 10,000-event aggregate",
                                        "aggregate_load_10k_snapshot": "the same with a snapshot at its last version"}.get(name))
        print(f"| {name} | {value:,.1f} ms | – | – | – |")
    else:
        result(name, value, unit, what="read_stream of a 10,000-event stream" if name == "read_stream_10k" else None)
        extra = f" ({d['ms']:.0f} ms)" if "ms" in d else ""
        print(f"| {name} | {value:,.0f} {unit}{extra} | – | – | – |")
print(f"| (bulk ceiling) COPY FROM of {copy_rows:,} rows, one transaction, median of 3 | – | {copy_rate:,.0f} events/s | – | – |")
if growth:
    # Growth: the smallest table is the reference ("ceiling") of each larger one; lower is better.
    by = {}
    for d in growth:
        kind = "append_p50" if d["name"].startswith("growth_append_p50") else "read_stream_100"
        by.setdefault(kind, []).append(d)
    for kind, ds in by.items():
        ds.sort(key=lambda d: d["events_in_table"])
        base = ds[0]["value"]
        for d in ds:
            n = d["events_in_table"]
            target = "<= 1.2" if d is not ds[0] and kind == "append_p50" else None
            r = result(d["name"], d["value"], d["unit"], base if d is not ds[0] else None, target,
                       ("one-event append p50 by one writer" if kind == "append_p50" else "read_stream of 100 events") +
                       f" with {d['events_in_table']:,} events in the table" +
                       ("" if d is ds[0] else f", vs the same with {ds[0]['events_in_table']:,}"))
            p99 = f", p99 {d['p99']:,.0f} µs" if "p99" in d else ""
            shown = f"{d['value']:,.0f} µs{p99}" if d["unit"] == "us" else f"{d['value']:,.2f} ms"
            reference = "reference" if d is ds[0] else f"{base:,.2f} (with {ds[0]['events_in_table']:,})"
            ratio = "–" if r is None else f"{r:.2f}"
            print(f"| {kind} with {n:,} events in the table | {shown} | {reference} | {ratio} | {target or '–'} |")
if results_path:
    with open(results_path, "a") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")
PY
