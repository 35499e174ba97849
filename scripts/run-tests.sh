#!/usr/bin/env bash
# Builds eventsource-cpp and runs every test: unit tests, the package test, and the integration
# tests against a real redis-server and PostgreSQL started here on 127.0.0.1 (temporary data
# directories, free ports) and stopped afterwards; then the unit and integration tests again,
# built with ASan+UBSan (build/asan), against the same servers. README command 2; .ci/run calls
# exactly this. ES_SKIP_ASAN=1 skips the sanitizer part (never in CI).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh

preset=${ES_PRESET:-ci}
jobs=${ES_JOBS:-$(nproc)}
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$jobs"

# The ASan+UBSan build of the libraries and of the unit and integration test executables
# (build/asan). CI always runs it; ES_SKIP_ASAN=1 skips it on a developer's machine.
asan=1
if [ "${ES_SKIP_ASAN:-0}" = 1 ]; then
  asan=0
  echo "ES_SKIP_ASAN=1: the ASan+UBSan build and run are skipped"
fi
# shellcheck source=lib/sanitizers.sh
source scripts/lib/sanitizers.sh
if [ "$asan" = 1 ]; then
  sanitizer_build asan "$jobs"
fi

# shellcheck source=lib/servers.sh
source scripts/lib/servers.sh
trap stop_servers EXIT
start_redis
start_postgres

# Every test, the integration ones included, in one ctest run; nothing may skip.
status=0
ctest --test-dir "build/$preset" --output-on-failure --no-tests=error -j "$jobs" --timeout 900 "$@" || status=$?

# The same unit and integration tests under ASan+UBSan, against the same servers.
if [ "$asan" = 1 ]; then
  sanitizer_run asan || status=1
fi
exit "$status"
