#pragma once
// Helpers for the PostgreSQL integration tests.
#include "../../support/run_coro.hpp"
#include "../../support/servers.hpp"

#include <es/postgres/config.hpp>
#include <es/postgres/database.hpp>
#include <es/postgres/event_store.hpp>

#include <algorithm>
#include <memory>
#include <string>

namespace es::test {

/// A schema name of its own for a test: "t_<random hex>".
inline std::string unique_schema(std::string const& prefix = "t")
{
    auto name = unique_name(prefix);
    std::replace(name.begin(), name.end(), '-', '_');
    return name;
}

/// Small pool and short intervals: tests should be quick.
inline postgres::config make_test_config(std::string schema)
{
    postgres::config cfg;
    cfg.conninfo = pg_conninfo();
    cfg.schema = std::move(schema);
    cfg.pool_size = 4;
    cfg.statement_timeout = std::chrono::seconds(20);
    return cfg;
}

}  // namespace es::test
