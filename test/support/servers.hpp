#pragma once
// Where the integration tests find the servers scripts/run-tests.sh started.
// A missing variable fails the test: tests never skip for a missing server.
#include <string>

namespace es::test {

/// ES_TEST_REDIS_PORT (redis-server on 127.0.0.1).
unsigned short redis_port();
/// ES_TEST_REDIS_HOST, 127.0.0.1 when unset (only docker-compose sets it).
std::string redis_host();
/// "redis://<host>:<port>"
std::string redis_url();
/// ES_TEST_PG_CONNINFO: a libpq connection string for the test PostgreSQL on 127.0.0.1.
std::string pg_conninfo();
/// An environment variable the test script exports; throws naming it when absent.
std::string required_env(char const* name);

}  // namespace es::test
