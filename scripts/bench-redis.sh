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
  redis-cli -h 127.0.0.1 -p "$port" del bench-ceiling >/dev/null
done

events=${ES_BENCH_EVENTS:-100000}
echo "== Redis: stream bus, $events events"
raw=$("$bench" raw "$port" "$events" | figure raw_loop_events_per_sec)
echo "raw XREADGROUP COUNT 100 + XACK loop: $raw/s"
for consumers in 1 4; do
  out=$("$bench" e2e "$port" "$events" "$consumers")
  e2e=$(echo "$out" | figure e2e_events_per_sec)
  pub=$(echo "$out" | figure publish_batched_events_per_sec)
  ratio=$(python3 -c "print(f'{$e2e / $raw:.2f}')")
  echo "publish (batches of 100): $pub/s; end-to-end publish->handler->ack with $consumers consumer(s): $e2e/s; ratio to raw loop $ratio"
done
lat=$("$bench" latency "$port" 1000 "$seconds")
echo "publish-to-handler latency at 1000 events/s: p50 $(echo "$lat" | figure latency_p50_us) us, p99 $(echo "$lat" | figure latency_p99_us) us, max $(echo "$lat" | figure latency_max_us) us"
