#!/usr/bin/env bash
# Installs every Debian bookworm package eventsource-cpp needs to build, test and run.
# Idempotent: when everything is present it prints one line and does nothing else.
# Boost is pinned to 1.81 by package name: libboost-dev / libboost-all-dev are 1.74 and conflict.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config git
  # libraries
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-system1.81-dev
  libpqxx-dev libhiredis-dev libspdlog-dev libssl-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  # the libFuzzer target of the Redis reply parser (test/fuzz/redis)
  clang libclang-rt-14-dev
  # servers used by integration tests and the demo on real backends
  redis-server redis-tools postgresql postgresql-contrib
  # tooling used by the test script
  openssl procps iproute2 curl python3
  # validates docker/docker-compose.yml (no Docker engine runs here)
  docker-compose
  # the dashboard test: headless Chromium driven through Selenium
  chromium chromium-driver python3-selenium
  # scripts/bench: plots; bench/core/profile.sh: callgrind
  gnuplot-nox valgrind
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run this script as root" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts services on install; the test and demo scripts start their own on free ports.
for svc in redis-server postgresql; do
  if command -v service >/dev/null 2>&1; then service "$svc" stop >/dev/null 2>&1 || true; fi
done
echo "install-deps: done"
