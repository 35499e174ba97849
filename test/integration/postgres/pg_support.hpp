#pragma once
// Helpers for the PostgreSQL integration tests.
#include "../../support/run_coro.hpp"
#include "../../support/servers.hpp"

#include <es/postgres/config.hpp>
#include <es/postgres/database.hpp>
#include <es/postgres/event_store.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
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

/// Runs fn(0..count-1) concurrently on the caller's executor and waits for all; a task that
/// throws fails the test with its message.
inline awaitable<void> run_parallel(int count, std::function<awaitable<void>(int)> fn)
{
    auto ex = co_await asio::this_coro::executor;
    auto remaining = std::make_shared<std::atomic<int>>(count);
    for (int i = 0; i < count; ++i)
        asio::co_spawn(ex, fn(i), [remaining](std::exception_ptr e) {
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (std::exception const& x) {
                    ADD_FAILURE() << "a concurrent task threw: " << x.what();
                }
            }
            --*remaining;
        });
    auto& left = *remaining;  // by reference: see eventually()
    EXPECT_TRUE(co_await eventually([&left] { return left.load() == 0; }, std::chrono::seconds(60)));
}

}  // namespace es::test
