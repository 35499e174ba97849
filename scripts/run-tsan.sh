#!/usr/bin/env bash
# Builds the ThreadSanitizer preset (build/tsan: the libraries, the unit tests and the Redis and
# PostgreSQL integration tests) and runs those tests under TSan against a redis-server and a
# PostgreSQL started here, as scripts/run-tests.sh does. Prints each executable's gtest summary,
# then every TSan report with the test it came from and its first frames; the full output is in
# build/tsan/logs/. Exits non-zero when a test fails or TSan reports anything. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh

jobs=${ES_JOBS:-$(nproc)}
# ccache (the compiler launcher when installed: cmake/EsTargetSettings.cmake) caches the test
# sources, compiled with CMake's precompiled header (-include), only with this sloppiness.
export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-pch_defines,time_macros}
# shellcheck source=lib/sanitizers.sh
source scripts/lib/sanitizers.sh
sanitizer_build tsan "$jobs"

# shellcheck source=lib/servers.sh
source scripts/lib/servers.sh
trap stop_servers EXIT
start_redis
start_postgres

status=0
sanitizer_run tsan || status=$?

# Which test each report came from (the last "[ RUN ]" line before it) and its first frames.
python3 - build/tsan/logs <<'PY'
import pathlib, re, sys
reports = 0
for log in sorted(pathlib.Path(sys.argv[1]).glob("*.log")):
    test, current = "(before the first test)", None
    seen = set()
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("[ RUN      ] "):
            test = line.split()[-1]
        elif line.startswith("WARNING: ThreadSanitizer: "):
            current = {"kind": line[len("WARNING: ThreadSanitizer: "):].split(" (pid")[0], "frames": []}
        elif current is not None:
            m = re.match(r"\s+#(\d+) (.*)", line)
            if m and len(current["frames"]) < 4:
                current["frames"].append(m.group(2))
            elif line.strip() == "" and current["frames"]:
                key = (test, current["kind"], tuple(current["frames"]))
                if key not in seen:
                    seen.add(key)
                    reports += 1
                    print(f"tsan: {log.stem}: {test}: {current['kind']}")
                    for f in current["frames"]:
                        print(f"        {f}")
                current = None
print(f"tsan: {reports} distinct report(s); full output in {sys.argv[1]}/")
PY
exit "$status"
