#!/usr/bin/env bash
# Builds eventsource-cpp and runs every test: unit tests, the package test, and the integration
# tests against a real redis-server and PostgreSQL started here on 127.0.0.1 (temporary data
# directories, free ports) and stopped afterwards. README command 2; .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh

preset=${ES_PRESET:-ci}
jobs=${ES_JOBS:-$(nproc)}
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$jobs"

# shellcheck source=lib/servers.sh
source scripts/lib/servers.sh
trap stop_servers EXIT
start_redis
start_postgres

# Every test, the integration ones included, in one ctest run; nothing may skip.
ctest --test-dir "build/$preset" --output-on-failure --no-tests=error -j "$jobs" --timeout 900 "$@"
