#pragma once
// order-demo's configuration: command-line flags, falling back to environment variables,
// falling back to the embedded defaults (everything in memory, 127.0.0.1:8080).
#include <optional>
#include <string>
#include <vector>

namespace orders {

struct app_config {
    std::string store = "memory";  ///< "memory" or a PostgreSQL URL/conninfo (ES_STORE)
    std::string bus = "memory";    ///< "memory" or redis://[user:password@]host:port[/db] (ES_BUS)
    std::string role = "all";      ///< all | api | projector (ES_ROLE)
    std::string host = "127.0.0.1";  ///< listen address (ES_HOST)
    unsigned short port = 8080;    ///< listen port, 0 = any free port (ES_PORT)
    std::string log_level = "info";  ///< trace|debug|info|warn|error (ES_LOG_LEVEL)
    std::string stream_prefix = "orders";  ///< Redis stream prefix (ES_STREAM_PREFIX)
    int threads = 2;               ///< I/O threads (ES_THREADS)
    std::string port_file;         ///< write the bound port here once listening (tests, scripts)
    bool use_relay = true;         ///< on PostgreSQL + Redis, publish through the outbox relay (ES_USE_RELAY)
    std::string schema = "es";     ///< PostgreSQL schema of the events; the read model uses "<schema>_views" (ES_SCHEMA)
    int relay_lease_ms = 5000;     ///< outbox relay lease: a dead relay is replaced after this long (ES_RELAY_LEASE_MS)
    int pending_idle_ms = 10000;   ///< Redis entries pending this long are reclaimed from a dead consumer (ES_PENDING_IDLE_MS)
    int drain_ms = 5000;           ///< on SIGTERM, requests in progress get this long before their connections are closed (ES_DRAIN_MS)
};

/// The --help text.
std::string usage();

/// Parses argv and the environment. Throws std::invalid_argument with a one-line reason.
/// Returns nullopt when --help was asked for.
std::optional<app_config> parse_config(std::vector<std::string> const& args);

/// The URL with any password replaced by "***", for logs.
std::string redact(std::string const& url);

}  // namespace orders
