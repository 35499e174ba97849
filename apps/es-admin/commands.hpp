#pragma once
// es-admin's commands, one group per backend. Each returns the process exit code.
#include "cli.hpp"

#include <es/asio.hpp>

#include <string>

namespace es_admin {

struct context {
    arguments args;  ///< everything after "<group> <command>"
    output out;
    std::string store_url;  ///< --store / ES_STORE
    std::string bus_url;    ///< --bus / ES_BUS
    std::string schema;     ///< --schema / ES_SCHEMA (PostgreSQL)
    std::string stream_prefix;  ///< --stream-prefix / ES_STREAM_PREFIX (Redis)
    std::string group;      ///< --group (Redis consumer group)
};

/// `store <command>`: reads and statistics from the PostgreSQL event store.
es::awaitable<int> run_store_command(std::string const& command, context& ctx);
std::string store_help();

/// `bus <command>` and `dlq <command>`: Redis stream bus operations.
es::awaitable<int> run_bus_command(std::string const& group, std::string const& command, context& ctx);
std::string bus_help();

}  // namespace es_admin
