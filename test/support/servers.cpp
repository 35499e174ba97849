#include "servers.hpp"

#include <cstdlib>
#include <stdexcept>

namespace es::test {

std::string required_env(char const* name)
{
    char const* v = std::getenv(name);
    if (v == nullptr || *v == '\0')
        throw std::runtime_error(std::string(name) + " is not set; run the integration tests through scripts/run-tests.sh");
    return v;
}

unsigned short redis_port()
{
    return static_cast<unsigned short>(std::stoul(required_env("ES_TEST_REDIS_PORT")));
}

std::string redis_host()
{
    // Only docker-compose's integration-tests service sets this; local runs use loopback.
    char const* v = std::getenv("ES_TEST_REDIS_HOST");
    return v != nullptr && *v != '\0' ? v : "127.0.0.1";
}

std::string redis_url()
{
    return "redis://" + redis_host() + ":" + std::to_string(redis_port());
}

std::string pg_conninfo()
{
    return required_env("ES_TEST_PG_CONNINFO");
}

}  // namespace es::test
