#!/usr/bin/env bash
# Redis benchmarks: es::redis and the stream bus against redis-benchmark, in the same run on the
# same throw-away redis-server (127.0.0.1, free port). Prints every figure and the ratios the
# issues set as targets. Usage: scripts/bench-redis.sh [build dir] (default build/release).
# scripts/bench may call it; it builds nothing itself when the binary is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-build/release}
bench="$build/bench/redis/es_redis_bench"
if [ ! -x "$bench" ]; then
  cmake --preset release >/dev/null 2>&1 || cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DES_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" --target es_redis_bench -j "$(nproc)"
fi

# shellcheck source=lib/servers.sh
source scripts/lib/servers.sh
trap stop_servers EXIT
start_redis >/dev/null
port=$ES_TEST_REDIS_PORT
payload=$(head -c 200 /dev/zero | tr '\0' 'x')
seconds=${ES_BENCH_SECONDS:-3}

figure() { sed -n "s/^$1=//p"; }

# One JSON object per figure into $ES_BENCH_RESULTS (scripts/bench), when it is set.
#   result NAME VALUE UNIT CEILING RATIO TARGET MET [EXTRA_JSON_FIELDS]
result() {
  [ -n "${ES_BENCH_RESULTS:-}" ] || return 0
  python3 - "$@" >> "$ES_BENCH_RESULTS" <<'PY'
import json, sys
name, value, unit, ceiling, ratio, target, met = sys.argv[1:8]
extra = json.loads(sys.argv[8]) if len(sys.argv) > 8 else {}
num = lambda v: None if v in ("", "null") else float(v)
obj = {"name": name, "value": num(value), "unit": unit, "ceiling": num(ceiling), "ratio": num(ratio),
       "target": target or None, "met": None if met in ("", "null") else met == "true"}
obj.update(extra)
print(json.dumps(obj))
PY
}
met_if() { python3 -c "print('true' if $1 else 'false')"; }

# redis-benchmark: one connection, pipeline depth P, the same 200-byte XADD.
ceiling() {
  local depth=$1
  redis-benchmark -h 127.0.0.1 -p "$port" -c 1 -P "$depth" -n $((depth * 20000)) -q \
    XADD bench-ceiling '*' payload "$payload" | tr '\r' '\n' | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -n 1
}

echo "== Redis: pipelined XADD, 200-byte payload, one connection (redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'))"
for depth in 16 256; do
  rb=$(ceiling "$depth")
  ours=$("$bench" xadd "$port" "$depth" "$seconds" | figure xadd_ops_per_sec)
  ratio=$(python3 -c "print(f'{$ours / $rb:.2f}')")
  echo "depth $depth: redis-benchmark -c 1 -P $depth: $rb/s; es::redis exec from $depth coroutines: $ours/s; ratio $ratio"
  result "redis_xadd_pipelined_depth_$depth" "$ours" "ops/s" "$rb" "$ratio" ">= 0.8" "$(met_if "$ratio >= 0.8")"
  [ "$depth" = 256 ] && xadd_ceiling=$rb
  redis-cli -h 127.0.0.1 -p "$port" del bench-ceiling >/dev/null
done

events=${ES_BENCH_EVENTS:-100000}
echo "== Redis: stream bus, $events events"
raw=$("$bench" raw "$port" "$events" | figure raw_loop_events_per_sec)
echo "raw XREADGROUP COUNT 100 + XACK loop: $raw/s"
result "redis_raw_xreadgroup_xack_loop" "$raw" "events/s" "" "" "" ""
for consumers in 1 4; do
  out=$("$bench" e2e "$port" "$events" "$consumers")
  e2e=$(echo "$out" | figure e2e_events_per_sec)
  pub=$(echo "$out" | figure publish_batched_events_per_sec)
  ratio=$(python3 -c "print(f'{$e2e / $raw:.2f}')")
  echo "publish (batches of 100): $pub/s; end-to-end publish->handler->ack with $consumers consumer(s): $e2e/s; ratio to raw loop $ratio"
  result "redis_bus_end_to_end_${consumers}_consumers" "$e2e" "events/s" "$raw" "$ratio" ">= 0.6" "$(met_if "$ratio >= 0.6")"
  if [ "$consumers" = 1 ]; then
    pratio=$(python3 -c "print(f'{$pub / ${xadd_ceiling:-$pub}:.2f}')")
    result "redis_bus_publish_batches_of_100" "$pub" "events/s" "${xadd_ceiling:-}" "$pratio" ">= 0.8" "$(met_if "$pratio >= 0.8")"
  fi
done
for rate in 1000 10000; do
  lat=$("$bench" latency "$port" "$rate" "$seconds")
  p50=$(echo "$lat" | figure latency_p50_us) p99=$(echo "$lat" | figure latency_p99_us) pmax=$(echo "$lat" | figure latency_max_us)
  echo "publish-to-handler latency at $rate events/s: p50 $p50 us, p99 $p99 us, max $pmax us"
  result "latency_p50_at_$rate" "$p50" "us" "" "" "" "" "{\"rate\": $rate}"
  if [ "$rate" = 1000 ]; then
    result "latency_p99_at_$rate" "$p99" "us" "" "" "< 1000 us" "$(met_if "$p99 < 1000")" "{\"rate\": $rate}"
  else
    result "latency_p99_at_$rate" "$p99" "us" "" "" "" "" "{\"rate\": $rate}"
  fi
  result "latency_max_at_$rate" "$pmax" "us" "" "" "" "" "{\"rate\": $rate}"
done
