#!/usr/bin/env bash
# Where an in-memory command's time goes (cited in docs/benchmarks.md, "In memory"): runs
# BM_CommandToProjection (10,000 commands) once under callgrind and prints the instructions per
# command of its parts, inclusive. Usage: bench/core/profile.sh [build dir] (default build/release)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
bin="$build/bench/core/bench_core"
# shellcheck source=../../scripts/lib/build_target.sh
source scripts/lib/build_target.sh
build_target "$build" bench_core
command -v valgrind >/dev/null || { echo "profile.sh: valgrind is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" --benchmark_filter=BM_CommandToProjection \
  --benchmark_min_time=0 --benchmark_repetitions=1 >/dev/null 2>"$out.log" ||
  { cat "$out.log" >&2; rm -f "$out.log"; exit 1; }
rm -f "$out.log"
callgrind_annotate --inclusive=yes --threshold=100 "$out" 2>/dev/null | c++filt | python3 -c '
import re, sys
commands = 10000   # BM_CommandToProjection/10000, one iteration
parts = [
    ("the whole command (io_context::run)", r"io_context::run\(\)"),
    ("repository::save", r"repository<orders::order>::save\(es::repository"),
    ("  encoding the event to JSON (value_from)", r"value_from_helper<orders::order_placed"),
    ("in_memory_event_store::append", r"in_memory_event_store::append_now"),
    ("  copying an envelope", r"event_envelope::event_envelope\(es::event_envelope const&\)"),
    ("the projection handler", r"order_summary_projection::handle\("),
    ("  decoding the payload (decode_described)", r"decode_described<orders::order_placed>"),
    ("in_memory_event_bus::publish", r"in_memory_event_bus::publish\(es::in_memory_event_bus"),
    ("the command itself (order, place, apply)", r"\{lambda\(\)#1\}::operator\(\)"),
    ("malloc", r"malloc\.c:malloc "),
    ("free", r"malloc\.c:free "),
]
lines = sys.stdin.read().splitlines()
print("| part | instructions per command |")
print("|---|---|")
for label, pattern in parts:
    for line in lines:
        if re.search(pattern, line):
            n = int(line.split()[0].replace(",", ""))
            print(f"| {label} | {n / commands:,.0f} |")
            break
'
