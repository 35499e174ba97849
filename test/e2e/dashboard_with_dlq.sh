#!/usr/bin/env bash
# The dashboard on the Redis bus: a malformed entry written straight into the stream lands in
# the dead-letter stream, the page lists it, and its Replay button moves it back.
#   dashboard_with_dlq.sh STREAM_PREFIX SCREENSHOT BASE_URL   (run through with_order_demo.sh)
set -euo pipefail
prefix=$1 screenshot=$2 base=$3
here=$(cd "$(dirname "$0")" && pwd)
redis-cli -h 127.0.0.1 -p "$ES_TEST_REDIS_PORT" XADD "$prefix:stream" '*' event_type OrderPlaced garbage 1 >/dev/null
for _ in $(seq 1 100); do
  n=$(redis-cli -h 127.0.0.1 -p "$ES_TEST_REDIS_PORT" XLEN "$prefix:stream_dlq")
  [ "$n" -ge 1 ] && break
  sleep 0.1
done
[ "$n" -ge 1 ] || { echo "the malformed entry never reached the DLQ" >&2; exit 1; }
/usr/bin/python3 "$here/dashboard_test.py" "$screenshot" --dlq "$base"
