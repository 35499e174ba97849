#include "app_config.hpp"

#include <cstdlib>
#include <stdexcept>

namespace orders {

std::string usage()
{
    return R"(order-demo: a small order service built on eventsource-cpp

usage: order-demo [options]

  --store memory|URL      event store: in memory (default) or PostgreSQL, e.g.
                          postgresql://user:pass@127.0.0.1:5432/orders     [ES_STORE]
  --bus memory|URL        event bus: in memory (default) or Redis Streams, e.g.
                          redis://127.0.0.1:6379/0                          [ES_BUS]
  --role all|api|projector
                          all: API and projections in one process (default)
                          api: HTTP API only; projector: projections only  [ES_ROLE]
  --host ADDRESS          listen address (default 127.0.0.1)                [ES_HOST]
  --port N                listen port (default 8080; 0 picks a free one)    [ES_PORT]
  --threads N             I/O threads (default 2)                           [ES_THREADS]
  --stream-prefix NAME    Redis stream prefix (default "orders")            [ES_STREAM_PREFIX]
  --schema NAME           PostgreSQL schema for the events (default "es"); the read
                          model lives in "<schema>_views"                  [ES_SCHEMA]
  --relay-lease-ms N      outbox relay lease (default 5000)                 [ES_RELAY_LEASE_MS]
  --pending-idle-ms N     reclaim Redis entries a dead consumer left pending
                          after this long (default 10000)                  [ES_PENDING_IDLE_MS]
  --drain-ms N            on SIGINT/SIGTERM, let requests in progress finish for
                          up to N ms before closing their connections
                          (default 5000)                                    [ES_DRAIN_MS]
  --no-relay              on PostgreSQL + Redis, publish from the API after each save
                          instead of through the outbox relay               [ES_USE_RELAY=0]
  --log-level LEVEL       trace, debug, info, warn or error (default info)  [ES_LOG_LEVEL]
  --port-file PATH        write the bound port to PATH once listening
  --help                  this text

With no options everything runs in one process on the in-memory store and bus.
Endpoints: POST /orders, POST /orders/{id}/pay|ship|cancel, GET /orders/{id},
GET /orders/{id}/events, GET /orders?status=&customer=, GET /stats, /healthz, /readyz,
/metrics, and the dashboard at /.
)";
}

namespace {
std::string env_or(char const* name, std::string fallback)
{
    char const* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::string(v) : std::move(fallback);
}

// A whole number in [low, high] or invalid_argument naming the setting.
long parse_number(std::string const& what, std::string const& text, long low, long high)
{
    std::size_t used = 0;
    long v = 0;
    try {
        v = std::stol(text, &used);
    } catch (std::exception const&) {
        used = 0;
    }
    if (used == 0 || used != text.size() || v < low || v > high)
        throw std::invalid_argument(what + " '" + text + "' is not a number from " + std::to_string(low) + " to " +
                                    std::to_string(high));
    return v;
}

unsigned short parse_port(std::string const& text)
{
    return static_cast<unsigned short>(parse_number("port", text, 0, 65535));
}

int parse_threads(std::string const& text)
{
    return static_cast<int>(parse_number("threads", text, 1, 64));
}
}  // namespace

std::optional<app_config> parse_config(std::vector<std::string> const& args)
{
    app_config c;
    c.store = env_or("ES_STORE", c.store);
    c.bus = env_or("ES_BUS", c.bus);
    c.role = env_or("ES_ROLE", c.role);
    c.host = env_or("ES_HOST", c.host);
    c.port = parse_port(env_or("ES_PORT", std::to_string(c.port)));
    c.threads = parse_threads(env_or("ES_THREADS", std::to_string(c.threads)));
    c.log_level = env_or("ES_LOG_LEVEL", c.log_level);
    c.stream_prefix = env_or("ES_STREAM_PREFIX", c.stream_prefix);
    c.use_relay = env_or("ES_USE_RELAY", "1") != "0";
    c.schema = env_or("ES_SCHEMA", c.schema);
    c.relay_lease_ms = static_cast<int>(parse_number("relay lease", env_or("ES_RELAY_LEASE_MS", "5000"), 100, 600000));
    c.pending_idle_ms = static_cast<int>(parse_number("pending idle time", env_or("ES_PENDING_IDLE_MS", "10000"), 0, 3600000));
    c.drain_ms = static_cast<int>(parse_number("drain time", env_or("ES_DRAIN_MS", "5000"), 0, 600000));

    for (std::size_t i = 0; i < args.size(); ++i) {
        auto const& a = args[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= args.size())
                throw std::invalid_argument("option " + a + " needs a value");
            return args[++i];
        };
        if (a == "--help" || a == "-h")
            return std::nullopt;
        else if (a == "--store")
            c.store = value();
        else if (a == "--bus")
            c.bus = value();
        else if (a == "--role")
            c.role = value();
        else if (a == "--host")
            c.host = value();
        else if (a == "--port")
            c.port = parse_port(value());
        else if (a == "--threads")
            c.threads = parse_threads(value());
        else if (a == "--log-level")
            c.log_level = value();
        else if (a == "--stream-prefix")
            c.stream_prefix = value();
        else if (a == "--port-file")
            c.port_file = value();
        else if (a == "--schema")
            c.schema = value();
        else if (a == "--relay-lease-ms")
            c.relay_lease_ms = static_cast<int>(parse_number("relay lease", value(), 100, 600000));
        else if (a == "--pending-idle-ms")
            c.pending_idle_ms = static_cast<int>(parse_number("pending idle time", value(), 0, 3600000));
        else if (a == "--drain-ms")
            c.drain_ms = static_cast<int>(parse_number("drain time", value(), 0, 600000));
        else if (a == "--no-relay")
            c.use_relay = false;
        else
            throw std::invalid_argument("unknown option '" + a + "' (see --help)");
    }
    if (c.role != "all" && c.role != "api" && c.role != "projector")
        throw std::invalid_argument("role '" + c.role + "' is not one of all, api, projector");
    if (c.store != "memory" && c.store.rfind("postgres", 0) != 0 && c.store.find('=') == std::string::npos)
        throw std::invalid_argument("store '" + redact(c.store) + "' is neither 'memory' nor a PostgreSQL URL");
    if (c.bus != "memory" && c.bus.rfind("redis://", 0) != 0 && c.bus.rfind("rediss://", 0) != 0)
        throw std::invalid_argument("bus '" + redact(c.bus) + "' is neither 'memory' nor a redis:// URL");
    if (c.role != "all" && (c.store == "memory" || c.bus == "memory"))
        throw std::invalid_argument("role '" + c.role +
                                    "' needs a shared store and bus (PostgreSQL and Redis): in-memory ones live in one process");
    return c;
}

std::string redact(std::string const& url)
{
    // scheme://user:password@host -> scheme://user:***@host
    auto scheme = url.find("://");
    if (scheme != std::string::npos) {
        auto at = url.find('@', scheme + 3);
        if (at != std::string::npos) {
            auto colon = url.find(':', scheme + 3);
            if (colon != std::string::npos && colon < at)
                return url.substr(0, colon + 1) + "***" + url.substr(at);
        }
        return url;
    }
    // libpq key=value form: password=... -> password=***
    auto p = url.find("password=");
    if (p == std::string::npos)
        return url;
    auto end = url.find(' ', p);
    return url.substr(0, p) + "password=***" + (end == std::string::npos ? "" : url.substr(end));
}

}  // namespace orders
