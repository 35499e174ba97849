#!/usr/bin/env bash
# Runs the fault-injection suite on its own redis-server and PostgreSQL (it kills and restarts
# them, so it never shares the servers of the other tests).
#   test/fault/run.sh DEMO_BINARY ADMIN_BINARY [fault_suite.py options...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
demo=$1 admin=$2
shift 2
ES_SERVERS_DIR=$(mktemp -d /tmp/es-fault-servers.XXXXXX)
source "$here/../../scripts/lib/servers.sh"
trap stop_servers EXIT
start_redis >/dev/null
start_postgres >/dev/null
python3 "$here/fault_suite.py" --demo "$demo" --admin "$admin" "$@"
