// Safe retention on a real Redis: a slow group's undelivered entries and a dead consumer's
// pending ones survive a pass that trims everything else; the forced trims do not look; the
// scheduled pass keeps the stream at its configured length once the groups are through.
#include "bus_test_support.hpp"

#include <es/redis/bus/stream_bus.hpp>

#include <gtest/gtest.h>

namespace es::test {
namespace {
using namespace std::chrono_literals;

TEST(RedisRetention, ASlowGroupAndADeadConsumersPendingEntriesSurvive)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_bus_config();
        cfg.batch_size = 10;  // the pull consumers read 10 at a time: "slow" is delivered exactly 60
        redis::stream_bus bus(cfg);
        std::vector<event_envelope> batch;
        for (int i = 1; i <= 100; ++i)
            batch.push_back(test_envelope("E", i));
        co_await bus.publish(batch);
        auto history = co_await bus.event_history(100);
        // "fast" has everything delivered and acknowledged.
        auto fast = co_await bus.make_consumer("fast", "f");
        for (int i = 0; i < 100; ++i) {
            auto d = co_await fast.next(1s);
            if (d)
                co_await d->ack();
        }
        // "slow" was delivered 60: it acknowledged 40, and a consumer that died holds 41..60.
        auto slow = co_await bus.make_consumer("slow", "dead");
        for (int i = 1; i <= 60; ++i) {
            auto d = co_await slow.next(1s);
            if (d && i <= 40)
                co_await d->ack();
        }
        co_await fast.stop();
        co_await slow.stop();

        std::optional<std::uint64_t> keep_ten = 10;
        auto r = co_await bus.apply_retention(keep_ten, std::nullopt);
        EXPECT_EQ(r.removed, 40);
        EXPECT_TRUE(r.limited_by_groups);
        auto left = co_await bus.event_history(1000);
        EXPECT_EQ(left.size(), 60u);
        if (!left.empty()) {
            EXPECT_EQ(left.front().message_id, history.at(40).message_id);  // entry 41: the oldest pending
        }
        auto pending = co_await bus.pending_events(100, "slow");
        EXPECT_EQ(pending.size(), 20u);

        // By age, the same floor holds; nothing more goes.
        EXPECT_EQ(co_await bus.trim_older_than(0ms), 0);
        EXPECT_EQ(co_await bus.trim(0), 0);
        // The forced trim does not look at the groups.
        EXPECT_EQ(co_await bus.force_trim(10), 50);
        EXPECT_EQ((co_await bus.event_history(1000)).size(), 10u);
        EXPECT_EQ(bus.detailed_stats().retention_removed, 40u);
        co_await bus.shutdown(1s);
    });
}

TEST(RedisRetention, WithoutGroupsThePolicyAloneDecides)
{
    run_coro([]() -> awaitable<void> {
        redis::stream_bus bus(make_bus_config());
        std::vector<event_envelope> batch;
        for (int i = 0; i < 30; ++i)
            batch.push_back(test_envelope("E", i));
        co_await bus.publish(batch);
        EXPECT_EQ(co_await bus.trim(12), 18);
        EXPECT_EQ((co_await bus.stream_info()).length, 12u);
        co_await bus.shutdown(1s);
    });
}

TEST(RedisRetention, TheScheduledPassKeepsTheConfiguredLength)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_bus_config();
        cfg.retention_max_length = 5;
        cfg.retention_interval = 50ms;
        redis::stream_bus bus(cfg);
        seen_numbers seen;
        bus.subscribe("E", seen.handler());
        co_await bus.start();
        std::vector<event_envelope> batch;
        for (int i = 0; i < 40; ++i)
            batch.push_back(test_envelope("E", i));
        co_await bus.publish(batch);
        EXPECT_TRUE(co_await eventually([&] { return seen.size() == 40; }, 5s));
        std::uint64_t length = 0;
        for (int i = 0; i < 100 && length != 5; ++i) {
            co_await sleep_for(20ms);
            length = (co_await bus.stream_info()).length;
        }
        EXPECT_EQ(length, 5u);
        EXPECT_EQ(bus.detailed_stats().retention_removed, 35u);
        co_await bus.shutdown(1s);
    });
}

}  // namespace
}  // namespace es::test
