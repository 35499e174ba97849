// es::idempotent_handler with its record in Redis (expiring keys).
#include "../../conformance/processed_event_store_conformance.hpp"
#include "bus_test_support.hpp"

#include <es/idempotency.hpp>
#include <es/redis/bus/processed_event_store.hpp>
#include <es/redis/client/request.hpp>

#include <gtest/gtest.h>

namespace es::test {

// With linkage: the suite's coroutines hold lambdas of these types (-Wsubobject-linkage).
struct redis_processed_factory {
    static awaitable<std::shared_ptr<es::processed_event_store>> make()
    {
        auto conn = co_await start_connection();
        co_return std::make_shared<redis::processed_event_store>(conn, unique_name("idem"), std::chrono::seconds(60));
    }
};
INSTANTIATE_TYPED_TEST_SUITE_P(Redis, ProcessedEventStoreConformance, redis_processed_factory);

namespace {

TEST(RedisProcessedEventStore, RedeliveredEventsRunTheHandlerOnce)
{
    run_coro([]() -> awaitable<void> {
        auto conn = co_await start_connection();
        auto store = std::make_shared<redis::processed_event_store>(conn, unique_name("idem"), std::chrono::seconds(60));
        auto stats = std::make_shared<idempotency_stats>();
        int calls = 0;
        auto handler = idempotent_handler(store, "projection", [&](event_envelope const&) -> awaitable<void> {
            ++calls;
            co_return;
        }, stats);
        auto e = test_envelope("Thing", 1);
        co_await handler(e);
        co_await handler(e);  // a redelivery
        co_await handler(test_envelope("Thing", 2));
        EXPECT_EQ(calls, 2);
        EXPECT_EQ(stats->skipped.load(), 1u);
        // The record expires: its key carries a ttl.
        redis::request ttl;
        ttl.push("TTL", store->key("projection", e.event_id));
        auto r = co_await conn->call(ttl);
        EXPECT_TRUE(r.is_integer() && r.integer > 0 && r.integer <= 60) << r.describe();
        conn->cancel();
    });
}

TEST(RedisProcessedEventStore, AFailingHandlerIsNotRecorded)
{
    run_coro([]() -> awaitable<void> {
        auto conn = co_await start_connection();
        auto store = std::make_shared<redis::processed_event_store>(conn, unique_name("idem"));
        int calls = 0;
        auto handler = idempotent_handler(store, "p", [&](event_envelope const&) -> awaitable<void> {
            if (++calls == 1)
                throw std::runtime_error("transient");
            co_return;
        });
        auto e = test_envelope("Thing", 1);
        bool threw = false;
        try {
            co_await handler(e);
        } catch (std::runtime_error const&) {
            threw = true;
        }
        EXPECT_TRUE(threw);
        bool const recorded = co_await store->contains("p", e.event_id);
        EXPECT_FALSE(recorded);
        co_await handler(e);
        co_await handler(e);
        EXPECT_EQ(calls, 2);
        conn->cancel();
    });
}

}  // namespace
}  // namespace es::test
