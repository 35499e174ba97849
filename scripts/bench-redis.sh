#!/usr/bin/env bash
# Redis benchmarks: es::redis and the stream bus against redis-benchmark, in the same run on the
# same throw-away redis-server (127.0.0.1, free port). Prints every figure, its ceiling and the
# ratio the issues set as a target. Usage: scripts/bench-redis.sh [build dir] (default build/release).
#   ES_BENCH_RUNS (default 3; 1 with ES_BENCH_QUICK=1)  runs per figure; the median is reported
#   ES_BENCH_SECONDS (default 3)                       duration of the XADD and latency runs
#   ES_BENCH_EVENTS (default 100000)                   events of the raw loop and end-to-end runs
#   ES_BENCH_MEMORY_EVENTS (default 1000000)           events of the consumer memory run
#   ES_BENCH_RESULTS=file                              also append one JSON object per figure
# scripts/bench calls it; it builds nothing itself when the binary is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-build/release}
bench="$build/bench/redis/es_redis_bench"
# Always built (a no-op when up to date): an older binary may lack a mode this script uses.
# shellcheck source=lib/build_target.sh
source scripts/lib/build_target.sh
build_target "$build" es_redis_bench
quick=${ES_BENCH_QUICK:-0}
runs=${ES_BENCH_RUNS:-$([ "$quick" = 1 ] && echo 1 || echo 3)}
seconds=${ES_BENCH_SECONDS:-3}
events=${ES_BENCH_EVENTS:-100000}
memory_events=${ES_BENCH_MEMORY_EVENTS:-$([ "$quick" = 1 ] && echo 200000 || echo 1000000)}
# An open-loop publisher: every event leaves at its scheduled time, answered or not.
latency_rates=$([ "$quick" = 1 ] && echo "1000 10000" || echo "1000 2000 5000 10000")

# shellcheck source=lib/servers.sh
source scripts/lib/servers.sh
work=$(mktemp -d)
trap 'rm -rf "$work"; stop_servers' EXIT
start_redis >/dev/null
port=$ES_TEST_REDIS_PORT
payload=$(head -c 200 /dev/zero | tr '\0' 'x')

figure() { sed -n "s/^$1=//p"; }
# One measurement of one run: rec NAME VALUE UNIT CEILING TARGET [EXTRA_JSON]. The summary at the
# end takes the median of the runs of each name.
rec() {
  python3 -c 'import json, sys
n, v, u, c, t = sys.argv[1:6]
# "missing": the ceiling was to be measured but its tool printed nothing; the target is then undecided.
d = {"name": n, "value": float(v), "unit": u, "ceiling": float(c) if c not in ("", "missing") else None,
     "target": t or None, "ceiling_missing": c == "missing"}
d.update(json.loads(sys.argv[6]) if len(sys.argv) > 6 else {})
print(json.dumps(d))' "$@" >> "$work/runs.jsonl"
}

# redis-benchmark: one connection, pipeline depth P, the same 200-byte XADD.
ceiling() {
  local depth=$1
  redis-benchmark -h 127.0.0.1 -p "$port" -c 1 -P "$depth" -n $((depth * 20000)) -q \
    XADD bench-ceiling '*' payload "$payload" | tr '\r' '\n' | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -n 1
}

# The publish ceiling: redis-benchmark XADDing exactly the entry stream_bus::publish writes (the
# same twelve fields and sizes) at the same depth, a batch of 100.
mapfile -d '' envelope_fields < <("$bench" fields "$port")
publish_ceiling() {
  redis-benchmark -h 127.0.0.1 -p "$port" -c 1 -P 100 -n 200000 -q XADD bench-ceiling-envelope '*' "${envelope_fields[@]}" |
    tr '\r' '\n' | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -n 1
  redis-cli -h 127.0.0.1 -p "$port" del bench-ceiling-envelope >/dev/null
}

echo "Redis benchmarks: redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), $runs run(s) per figure" >&2
for run in $(seq 1 "$runs"); do
  echo "run $run/$runs: pipelined XADD, 200-byte payload, one connection, depths 16 and 256" >&2
  for depth in 16 256; do
    rb=$(ceiling "$depth")
    out=$("$bench" xadd "$port" "$depth" "$seconds")
    rec "redis_xadd_pipelined_depth_$depth" "$(echo "$out" | figure xadd_ops_per_sec)" "ops/s" "${rb:-missing}" ">= 0.8" \
      "{\"what\": \"es::redis exec from $depth coroutines vs redis-benchmark -c 1 -P $depth\", \"commands_per_write\": $(echo "$out" | figure xadd_commands_per_write)}"
    redis-cli -h 127.0.0.1 -p "$port" del bench-ceiling >/dev/null
  done

  echo "run $run/$runs: stream bus, $events events, 1 and 4 consumers, against a raw XREADGROUP + XACK loop" >&2
  envelope_ceiling=$(publish_ceiling)
  raw=$("$bench" raw "$port" "$events" | figure raw_loop_events_per_sec)
  rec "redis_raw_xreadgroup_xack_loop" "$raw" "events/s" "" "" '{"what": "XREADGROUP COUNT 100 + one XACK per batch, written with es::redis"}'
  for consumers in 1 4; do
    out=$("$bench" e2e "$port" "$events" "$consumers")
    rec "redis_bus_end_to_end_${consumers}_consumers" "$(echo "$out" | figure e2e_events_per_sec)" "events/s" "${raw:-missing}" ">= 0.6" \
      "{\"what\": \"stream_bus publish -> handler -> ack, $consumers consumer(s), vs the raw loop\"}"
    if [ "$consumers" = 1 ]; then
      rec "redis_bus_publish_batches_of_100" "$(echo "$out" | figure publish_batched_events_per_sec)" "events/s" "${envelope_ceiling:-missing}" ">= 0.8" \
        '{"what": "stream_bus::publish in batches of 100 vs redis-benchmark -c 1 -P 100 XADDing the same 12-field entry"}'
    fi
  done

  echo "run $run/$runs: publish-to-handler latency at $latency_rates events/s for $seconds s each" >&2
  for rate in $latency_rates; do
    lat=$("$bench" latency "$port" "$rate" "$seconds")
    for q in p50 p99 p999 max; do
      target=""
      [ "$rate" = 1000 ] && [ "$q" = p99 ] && target="<= 1000"
      rec "latency_${q}_at_$rate" "$(echo "$lat" | figure "latency_${q}_us")" "us" "" "$target" \
        "{\"rate\": $rate, \"achieved_rate\": $(echo "$lat" | figure latency_achieved_rate), \"what\": \"stream_bus publish -> handler latency ($q) at a steady $rate events/s for $seconds s\"}"
    done
  done
done

# Memory: one consumer process over $memory_events events while a separate process publishes them.
echo "consumer memory: $memory_events events through one stream_bus consumer (publisher in its own process)" >&2
prefix="bench-memory-$$"
"$bench" feed "$port" "$prefix" "$memory_events" &
feeder=$!
trap 'kill "$feeder" 2>/dev/null || true; rm -rf "$work"; stop_servers' EXIT
mem=$("$bench" memory "$port" "$prefix" "$memory_events")
wait "$feeder"
warm=$(echo "$mem" | figure memory_rss_after_warm_up_kib)
samples=$(echo "$mem" | figure memory_samples)
mib() { python3 -c "print($1 / 1024)"; }
rec "consumer_rss_growth_after_warm_up" "$(mib "$(echo "$mem" | figure memory_rss_end_kib)")" "MiB" "$(mib "$warm")" "<= 1.05" \
  "{\"events\": $memory_events, \"what\": \"RSS after all events vs RSS after the first tenth\", \"samples_kib\": \"$samples\"}"
rec "consumer_peak_rss" "$(mib "$(echo "$mem" | figure memory_peak_rss_kib)")" "MiB" "" "" \
  "{\"events\": $memory_events, \"events_per_sec\": $(echo "$mem" | figure memory_events_per_sec), \"what\": \"peak RSS (VmHWM) of the consumer process\"}"

python3 - "$work/runs.jsonl" "${ES_BENCH_RESULTS:-}" <<'PY'
import json, statistics, sys
by = {}
for line in open(sys.argv[1]):
    d = json.loads(line)
    by.setdefault(d["name"], []).append(d)
print("| figure | value [min–max] | ceiling | ratio | target | met |")
print("|---|---|---|---|---|---|")
out = []
for name, ds in by.items():
    values = [d["value"] for d in ds]
    ceilings = [d["ceiling"] for d in ds if d["ceiling"]]
    ratios = [d["value"] / d["ceiling"] for d in ds if d["ceiling"]]
    value = statistics.median(values)
    ceiling = statistics.median(ceilings) if ceilings else None
    ratio = statistics.median(ratios) if ratios else None  # each run's ratio is measured back to back
    target, met = ds[0]["target"], None
    if target and not any(d.get("ceiling_missing") for d in ds):
        op, bound = target.split()
        x = ratio if ratio is not None else value
        met = x >= float(bound) if op == ">=" else x <= float(bound)
    fig = {k: v for k, v in ds[0].items() if k != "ceiling_missing"}
    fig.update({"value": round(value, 2), "ceiling": round(ceiling, 2) if ceiling else None,
                "ratio": round(ratio, 3) if ratio is not None else None, "met": met})
    if len(values) > 1:
        fig["spread"] = [round(min(values), 2), round(max(values), 2)]
        fig["runs"] = len(values)
    out.append(fig)
    spread = f" [{min(values):,.0f}–{max(values):,.0f}]" if len(values) > 1 else ""
    shown = lambda v: "–" if v is None else (f"{v:,.0f}" if abs(v) >= 10 else f"{v:.2f}")
    print(f"| {name} | {shown(value)} {fig['unit']}{spread} | {shown(ceiling)} | {shown(ratio)} | {target or '–'} | "
          f"{ {True: 'yes', False: 'no', None: '–'}[met] } |")
if sys.argv[2]:
    with open(sys.argv[2], "a") as f:
        for fig in out:
            f.write(json.dumps(fig) + "\n")
PY
