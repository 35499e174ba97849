#!/usr/bin/env python3
"""Google Benchmark JSON of bench_core -> result lines (median of the repetitions, with spread)."""
import json
import statistics
import sys

data = json.load(open(sys.argv[1]))
runs = {}
for b in data["benchmarks"]:
    if b.get("run_type") == "aggregate":
        continue
    runs.setdefault(b["run_name"], []).append(b)


def per_item_ns(b):
    return 1e9 / b["items_per_second"]


figures = [
    ("in_memory_command_to_projection", "BM_CommandToProjection/10000", 1000.0,
     "place -> event -> apply -> append -> publish -> projection, one core"),
    ("aggregate_replay_decoded", "BM_ReplayDecoded/10000", 50.0, "apply of already decoded events"),
    ("aggregate_replay_from_store", "BM_ReplayFromEnvelopes/10000", 50.0, "JSON decode + apply, as a repository load"),
]
for name, run, target_ns, what in figures:
    if run not in runs:
        continue
    values = [per_item_ns(b) for b in runs[run]]
    median = statistics.median(values)
    print(json.dumps({"name": name, "value": round(median, 1), "unit": "ns", "ceiling": None, "ratio": None,
                      "target": f"<= {target_ns:g} ns", "met": median <= target_ns,
                      "spread": [round(min(values), 1), round(max(values), 1)], "what": what}))
