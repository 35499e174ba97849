#!/usr/bin/env bash
# The fault-injection suite with the long soak (docs/reliability.md): release build, servers of
# its own on 127.0.0.1, 200,000 events by default. The test command runs the same suite with a
# shorter soak.
#   scripts/run-fault-suite.sh [--soak-events N] [--orders N] [--cases a,b,...]
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target order-demo es-admin -j "$(nproc)"
args=("$@")
printf '%s\n' "${args[@]}" | grep -q -- '--soak-events' || args+=(--soak-events 200000)
exec test/fault/run.sh build/release/apps/order-demo/order-demo build/release/apps/es-admin/es-admin \
  --report docs/fault-suite-latest.md "${args[@]}"
