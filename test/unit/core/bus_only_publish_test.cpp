// Publishing typed events without an event store, typed subscriptions, and es::spawn, which
// never swallows an exception that escapes a top-level coroutine.
#include "support/run_coro.hpp"
#include "support/test_domain.hpp"

#include <es/event_bus.hpp>
#include <es/in_memory_event_bus.hpp>
#include <es/spawn.hpp>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <stdexcept>

namespace es::test {
namespace {

TEST(BusOnlyPublish, APublishedTypedEventReachesATypedSubscriber)
{
    run_coro([]() -> awaitable<void> {
        auto registry = make_account_registry();
        in_memory_event_bus bus;
        std::vector<std::pair<money_deposited, event_envelope>> seen;
        subscribe_typed<money_deposited>(bus, registry, [&](money_deposited const& e, event_envelope const& env) -> awaitable<void> {
            seen.emplace_back(e, env);
            co_return;
        });
        event_origin origin;
        origin.aggregate_type = "Account";
        origin.aggregate_id = "acc-7";
        origin.version = 3;
        origin.metadata.correlation_id = "corr-1";
        money_deposited deposit{};
        deposit.amount = 25;
        deposit.currency = "EUR";
        auto published = co_await publish_event(bus, deposit, origin);
        EXPECT_EQ(published.event_type, std::string(money_deposited::event_type));
        EXPECT_EQ(published.stream_id, "Account-acc-7");
        EXPECT_EQ(published.stream_version, 3u);
        EXPECT_EQ(published.global_position, 0u);
        EXPECT_EQ(published.metadata.correlation_id, "corr-1");
        EXPECT_EQ(seen.size(), 1u);
        if (!seen.empty()) {
            EXPECT_EQ(seen.front().first.amount, 25);
            EXPECT_EQ(seen.front().first.currency, "EUR");
            EXPECT_EQ(seen.front().second.event_id, published.event_id);
            EXPECT_EQ(seen.front().second.aggregate_id, "acc-7");
        }
    });
}

es::awaitable<void> fails()
{
    co_await sleep_for(std::chrono::milliseconds(1));
    throw std::runtime_error("escaped from a top-level coroutine");
}

TEST(Spawn, AnEscapingExceptionReachesIoContextRun)
{
    boost::asio::io_context io;
    es::spawn(io.get_executor(), fails(), "failing task");
    EXPECT_THROW(
        {
            try {
                io.run();
            } catch (std::runtime_error const& e) {
                EXPECT_STREQ(e.what(), "escaped from a top-level coroutine");
                throw;
            }
        },
        std::runtime_error);
}

}  // namespace
}  // namespace es::test
