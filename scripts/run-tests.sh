#!/usr/bin/env bash
# Builds eventsource-cpp and runs every test: unit tests, the package test, and the integration
# tests against a real redis-server and PostgreSQL started here on 127.0.0.1 (temporary data
# directories, free ports) and stopped afterwards; then the unit and integration tests again,
# built with ASan+UBSan (build/asan), against the same servers. README command 2; .ci/run calls
# exactly this. ES_SKIP_ASAN=1 skips the sanitizer part (never in CI).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh

# ccache keys relative to the checkout: a fresh clone in another folder (as CI makes) reuses what
# an earlier run on this machine compiled.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
# The test sources are compiled with CMake's precompiled header (-include): ccache caches them
# only with this sloppiness.
export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-pch_defines,time_macros}

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
ctest_log=$(mktemp)
ctest --test-dir "build/$preset" --output-on-failure --no-tests=error -j "$jobs" --timeout 900 "$@" 2>&1 \
  | tee "$ctest_log" || status=1

# The same unit and integration tests under ASan+UBSan, against the same servers.
asan_log=$(mktemp)
if [ "$asan" = 1 ]; then
  sanitizer_run asan 2>&1 | tee "$asan_log" || status=1
fi

# One closing line over both runs: ctest's tests, then the sanitizer run's GoogleTest tests.
read -r ctest_failed ctest_total < <(sed -n -E 's/.* ([0-9]+) tests failed out of ([0-9]+)$/\1 \2/p' "$ctest_log" | tail -n 1) || true
asan_passed=$(sed -n -E 's/^\[  PASSED  \] ([0-9]+) tests?\.$/\1/p' "$asan_log" | awk '{s += $1} END {print s + 0}')
asan_failed=$(sed -n -E 's/^\[  FAILED  \] ([0-9]+) tests?, listed below:$/\1/p' "$asan_log" | awk '{s += $1} END {print s + 0}')
passed=$(( ${ctest_total:-0} - ${ctest_failed:-0} + ${asan_passed:-0} ))
failed=$(( ${ctest_failed:-0} + ${asan_failed:-0} ))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1  # a run that failed without a failed test (a crash, a sanitizer report at exit, a build)
fi
rm -f "$ctest_log" "$asan_log"
echo "tests: $passed passed, $failed failed"
exit "$status"
