#!/usr/bin/env bash
# Credentials and hostile configuration: order-demo and es-admin on PostgreSQL password
# authentication (SCRAM) and a Redis ACL user, over plain TCP and TLS; the passwords never appear
# in any log or error; wrong credentials and hostile names are one clear error.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
demo=$ES_DEMO_BINARY admin=$ES_ADMIN_BINARY
pg_pw=$ES_TEST_PG_APP_PASSWORD redis_pw=$ES_TEST_REDIS_ACL_PASSWORD
store="host=127.0.0.1 port=$ES_TEST_PG_PORT user=$ES_TEST_PG_APP_USER password=$pg_pw dbname=es_test"
bus="redis://$ES_TEST_REDIS_ACL_USER:$redis_pw@127.0.0.1:$ES_TEST_REDIS_PORT"
tls_bus="rediss://$ES_TEST_REDIS_ACL_USER:$redis_pw@127.0.0.1:$ES_TEST_REDIS_TLS_PORT?ca_file=$ES_TEST_REDIS_CA_FILE"
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
no_secrets() {  # FILE...
  if grep -l -e "$pg_pw" -e "$redis_pw" "$@" >/dev/null 2>&1; then
    fail "a password appears in $(grep -l -e "$pg_pw" -e "$redis_pw" "$@" | tr '\n' ' ')"
  fi
}

# The whole scenario with credentials, at debug log level, over TCP and over TLS.
for b in "$bus" "$tls_bus"; do
  ES_LOG_LEVEL=debug bash "$here/with_order_demo.sh" --store "$store" --bus "$b" --schema "sec_$$" \
    --stream-prefix "sec-$$" --log-level debug > "$logs/scenario.log" 2>&1 || { cat "$logs/scenario.log" >&2; fail "scenario with credentials"; }
  grep -q "scenario finished" "$logs/scenario.log" || fail "scenario did not finish"
  no_secrets "$logs/scenario.log"
done
grep -q "redis://es-test:\*\*\*@" "$logs/scenario.log" || grep -q "rediss://es-test:\*\*\*@" "$logs/scenario.log" \
  || fail "the bus URL is not logged redacted"

# es-admin with the same credentials.
"$admin" store stats --store "$store" --schema "sec_$$" > "$logs/admin.log" 2>&1 || fail "es-admin store stats with a password"
"$admin" bus info --bus "$tls_bus" --stream-prefix "sec-$$" >> "$logs/admin.log" 2>&1 || fail "es-admin bus info over TLS with ACL"
no_secrets "$logs/admin.log"

# Wrong credentials: exit code 1, one clear reason, no password echoed.
set +e
"$demo" --store "${store/password=$pg_pw/password=wrong-$pg_pw-x}" --port 0 > "$logs/bad-pg.log" 2>&1; code=$?
[ $code -eq 1 ] && grep -q "password authentication failed" "$logs/bad-pg.log" || { cat "$logs/bad-pg.log"; fail "wrong PostgreSQL password: exit $code"; }
grep -q -e "wrong-$pg_pw" -e "$pg_pw" "$logs/bad-pg.log" && fail "the wrong PostgreSQL password was logged"
out=$("$admin" bus info --bus "redis://$ES_TEST_REDIS_ACL_USER:nope-$redis_pw@127.0.0.1:$ES_TEST_REDIS_PORT" 2>&1); code=$?
[ $code -eq 1 ] && [ "$(echo "$out" | wc -l)" = 1 ] || fail "wrong Redis password: exit $code: $out"
echo "$out" | grep -qi -e "WRONGPASS" -e "auth" || fail "wrong Redis password does not say why: $out"
echo "$out" | grep -q -e "$redis_pw" && fail "the Redis password was printed"
out=$("$admin" bus info --bus "rediss://127.0.0.1:$ES_TEST_REDIS_TLS_PORT" 2>&1); code=$?
[ $code -eq 1 ] || fail "TLS without the CA must fail certificate verification: exit $code: $out"

# Hostile names are refused before anything touches a server.
"$demo" --store "$store" --schema 'x"; DROP TABLE es.events; --' --port 0 > "$logs/schema.log" 2>&1; code=$?
[ $code -ne 0 ] && grep -qi "schema" "$logs/schema.log" || fail "hostile schema name: exit $code"
"$demo" --bus "$bus" --stream-prefix $'evil\r\nFLUSHALL' --port 0 > "$logs/prefix.log" 2>&1; code=$?
[ $code -ne 0 ] && grep -q "stream_prefix" "$logs/prefix.log" || { cat "$logs/prefix.log"; fail "hostile stream prefix: exit $code"; }
set -e
[ "$(redis-cli -h 127.0.0.1 -p "$ES_TEST_REDIS_PORT" --user "$ES_TEST_REDIS_ACL_USER" --pass "$redis_pw" --no-auth-warning EXISTS "sec-$$:stream")" = 1 ] \
  || fail "the scenario's stream is missing (a hostile name must not have flushed anything)"
echo "security: ok"
