// The bus' inspection calls on a real Redis: the newest events (all, or of one type), the pending
// entries with their holders, idle times, deliveries and recorded failures, and a replay of one
// type from the main stream.
#include "bus_test_support.hpp"

#include <es/redis/bus/stream_bus.hpp>

#include <gtest/gtest.h>

namespace es::test {
namespace {
using namespace std::chrono_literals;

int number(redis::stored_event const& e)
{
    return e.event.payload.at("n").to_number<int>();
}

TEST(RedisBusInspection, LatestEventsAreNewestFirstAndCanBeFilteredByType)
{
    run_coro([]() -> awaitable<void> {
        redis::stream_bus bus(make_bus_config());
        std::vector<event_envelope> batch;
        for (int i = 0; i < 1200; ++i)  // more than one page of the type filter
            batch.push_back(test_envelope(i % 3 == 0 ? "Rare" : "Common", i));
        co_await bus.publish(batch);
        auto last = co_await bus.latest_events(5);
        EXPECT_EQ(last.size(), 5u);
        for (std::size_t i = 0; i < last.size(); ++i)
            EXPECT_EQ(number(last[i]), 1199 - static_cast<int>(i));
        auto rare = co_await bus.latest_events(450, "Rare");
        EXPECT_EQ(rare.size(), 400u);  // every Rare event there is
        if (!rare.empty()) {
            EXPECT_EQ(number(rare.front()), 1197);
            EXPECT_EQ(number(rare.back()), 0);
        }
        for (auto const& e : rare)
            EXPECT_EQ(e.event.event_type, "Rare");
        auto none = co_await bus.latest_events(3, "Missing");
        EXPECT_TRUE(none.empty());
        co_await bus.shutdown(1s);
    });
}

TEST(RedisBusInspection, PendingEventsShowHolderDeliveriesAndFailures)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_bus_config();
        cfg.consumer_name = "worker-1";
        cfg.recovery_interval = 0ms;
        cfg.max_retries = 5;
        redis::stream_bus bus(cfg);
        std::atomic<int> runs{0};
        bus.subscribe("Flaky", [&](event_envelope const&) -> awaitable<void> {
            ++runs;
            throw std::runtime_error("not yet");
            co_return;
        });
        co_await bus.start();
        std::vector<event_envelope> batch{test_envelope("Flaky", 1), test_envelope("Flaky", 2)};
        co_await bus.publish(batch);
        EXPECT_TRUE(co_await eventually([&] { return runs.load() == 2; }, 5s));
        co_await bus.recover_pending_messages(0ms, 5, 10);  // a second failure each
        auto pending = co_await bus.pending_events(10);
        EXPECT_EQ(pending.size(), 2u);
        for (auto const& p : pending) {
            EXPECT_EQ(p.consumer, "worker-1");
            EXPECT_EQ(p.deliveries, 2u);
            EXPECT_EQ(p.failures, 2u);
            EXPECT_LT(p.idle, 5s);
        }
        co_await bus.shutdown(1s);
    });
}

TEST(RedisBusInspection, ReplayOfOneTypeHandsOnlyThatType)
{
    run_coro([]() -> awaitable<void> {
        redis::stream_bus bus(make_bus_config());
        seen_numbers seen;
        bus.subscribe_all(seen.handler());
        std::vector<event_envelope> batch;
        for (int i = 0; i < 30; ++i)
            batch.push_back(test_envelope(i % 2 == 0 ? "Even" : "Odd", i));
        co_await bus.publish(batch);
        auto n = co_await bus.replay("-", 100, "Odd");
        EXPECT_EQ(n, 15u);
        EXPECT_EQ(seen.size(), 15u);
        for (int v : seen.distinct())
            EXPECT_EQ(v % 2, 1);
        auto first_three = co_await bus.replay("-", 3, "Even");
        EXPECT_EQ(first_three, 3u);
        co_await bus.shutdown(1s);
    });
}

}  // namespace
}  // namespace es::test
