// The consumer group's delivery rules on a real Redis (docs/redis-bus.md, "Delivery rules"):
// no double handling, max_retries means retries, true recovery counts, start/stop/connect/
// destroy, DLQ replay to one group, consumers that clean up after themselves. Counts are taken
// in the handlers, the layer under test, not after recovery has filled gaps.
#include "bus_test_support.hpp"

#include <es/redis/bus/stream_bus.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <gtest/gtest.h>

#include <map>

namespace es::test {
namespace {
using namespace std::chrono_literals;

/// How often each event number was handled, thread-safe.
struct handled_counts {
    std::mutex mutex;
    std::map<int, int> counts;
    void add(event_envelope const& e)
    {
        std::lock_guard lock(mutex);
        ++counts[e.payload.at("n").to_number<int>()];
    }
    int total()
    {
        std::lock_guard lock(mutex);
        int n = 0;
        for (auto const& [k, v] : counts)
            n += v;
        return n;
    }
    std::map<int, int> snapshot()
    {
        std::lock_guard lock(mutex);
        return counts;
    }
};

awaitable<redis::reply> redis_call(redis::stream_bus& bus, redis::request const& req)
{
    co_return co_await bus.redis().call(req);
}

// Rule 1: two consumers of one group, handlers three times slower than pending_idle_time, with
// recovery running every 30 ms in both: every entry is handled exactly once.
TEST(RedisDeliveryRules, ASlowHandlerKeepsItsEntryAndNothingIsHandledTwice)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_bus_config();
        cfg.pending_idle_time = 150ms;
        cfg.recovery_interval = 30ms;
        cfg.batch_size = 2;
        handled_counts counts;
        auto slow = [&](event_envelope const& e) -> awaitable<void> {
            co_await sleep_for(450ms);  // three idle times
            counts.add(e);
        };
        auto cfg_a = cfg;
        cfg_a.consumer_name = "a";
        auto cfg_b = cfg;
        cfg_b.consumer_name = "b";
        redis::stream_bus a(cfg_a);
        redis::stream_bus b(cfg_b);
        a.subscribe("Slow", slow);
        b.subscribe("Slow", slow);
        co_await a.start();
        co_await b.start();
        std::vector<event_envelope> batch;
        for (int i = 0; i < 6; ++i)
            batch.push_back(test_envelope("Slow", i));
        co_await a.publish(batch);
        EXPECT_TRUE(co_await eventually([&] { return counts.total() >= 6; }, 15s));
        co_await sleep_for(600ms);  // a second delivery would show up here
        for (auto const& [n, times] : counts.snapshot())
            EXPECT_EQ(times, 1) << "event " << n << " was handled " << times << " times";
        EXPECT_EQ(counts.snapshot().size(), 6u);
        EXPECT_EQ(a.detailed_stats().recovered + b.detailed_stats().recovered, 0u);
        co_await a.shutdown(2s);
        co_await b.shutdown(2s);
    });
}

// Rule 2: a failing handler runs 1 + max_retries times; the DLQ entry says retry_count = max_retries.
TEST(RedisDeliveryRules, MaxRetriesMeansRetries)
{
    for (std::uint32_t max_retries : {0u, 1u, 2u, 3u}) {
        run_coro([max_retries]() -> awaitable<void> {
            auto cfg = make_bus_config();
            cfg.max_retries = max_retries;
            cfg.pending_idle_time = 20ms;
            cfg.recovery_interval = 20ms;
            redis::stream_bus bus(cfg);
            std::atomic<int> runs{0};
            bus.subscribe("Poison", [&](event_envelope const&) -> awaitable<void> {
                ++runs;
                throw std::runtime_error("always fails");
                co_return;
            });
            co_await bus.start();
            std::vector<event_envelope> batch{test_envelope("Poison", 1)};
            co_await bus.publish(batch);
            EXPECT_TRUE(co_await eventually([&] { return bus.detailed_stats().sent_to_dlq == 1; }, 5s));
            co_await sleep_for(100ms);
            EXPECT_EQ(runs.load(), static_cast<int>(1 + max_retries)) << "max_retries " << max_retries;
            auto dead = co_await bus.dlq_messages(10);
            EXPECT_EQ(dead.size(), 1u);
            if (!dead.empty()) {
                EXPECT_EQ(dead.front().retry_count, max_retries);
            }
            co_await bus.shutdown(1s);
        });
    }
}

// Rule 2: deliveries that were not failures (consumers that died holding the entry) cost no retry.
TEST(RedisDeliveryRules, TakeOversOfADeadConsumerDoNotCountAsFailures)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_bus_config();
        cfg.max_retries = 1;
        cfg.pending_idle_time = 20ms;
        cfg.recovery_interval = 20ms;
        redis::stream_bus bus(cfg);
        co_await bus.connect();
        std::vector<event_envelope> batch{test_envelope("Survivor", 5)};
        co_await bus.publish(batch);
        // Five consumers take the entry in turn and die without acknowledging (as kill -9 leaves it).
        auto dead = co_await bus.make_consumer(cfg.consumer_group, "dead-0");
        auto first = co_await dead.next(1s);
        EXPECT_TRUE(first.has_value());
        co_await dead.stop();
        for (int i = 1; i < 5; ++i) {
            redis::request claim;
            claim.push("XCLAIM", bus.stream_name(), cfg.consumer_group, "dead-" + std::to_string(i), "0",
                       first ? first->message_id : std::string("0-1"));
            co_await redis_call(bus, claim);
        }
        handled_counts counts;
        bus.subscribe("Survivor", [&](event_envelope const& e) -> awaitable<void> {
            counts.add(e);
            co_return;
        });
        co_await bus.start();
        EXPECT_TRUE(co_await eventually([&] { return counts.total() == 1; }, 5s));
        EXPECT_EQ(bus.detailed_stats().sent_to_dlq, 0u);
        EXPECT_EQ((co_await bus.stream_info()).total_pending, 0u);
        co_await bus.shutdown(1s);
    });
}

// Rule 3: with the DLQ disabled nothing is reported as sent; the entry is kept and counted so.
TEST(RedisDeliveryRules, WithoutADlqRecoveryCountsTheEntryAsKept)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_bus_config();
        cfg.enable_dlq = false;
        cfg.max_retries = 0;
        cfg.recovery_interval = 0ms;  // passes on demand only
        redis::stream_bus bus(cfg);
        std::atomic<int> runs{0};
        bus.subscribe("Poison", [&](event_envelope const&) -> awaitable<void> {
            ++runs;
            throw std::runtime_error("always fails");
            co_return;
        });
        co_await bus.start();
        std::vector<event_envelope> batch{test_envelope("Poison", 1)};
        co_await bus.publish(batch);
        EXPECT_TRUE(co_await eventually([&] { return runs.load() == 1; }, 5s));
        for (int pass = 0; pass < 3; ++pass) {
            auto r = co_await bus.recover_pending_messages(0ms, 0, 10);
            EXPECT_EQ(r.sent_to_dlq, 0u);
            EXPECT_EQ(r.kept, 1u);
        }
        EXPECT_EQ(runs.load(), 1);  // given up on: not handled again
        EXPECT_EQ(bus.detailed_stats().sent_to_dlq, 0u);
        auto info = co_await bus.stream_info();
        EXPECT_EQ(info.dlq_length, 0u);
        EXPECT_EQ(info.total_pending, 1u);
        co_await bus.shutdown(1s);
    });
}

// Rule 4.
TEST(RedisDeliveryRules, StartAfterStopConsumingConsumesAgain)
{
    run_coro([]() -> awaitable<void> {
        redis::stream_bus bus(make_bus_config());
        seen_numbers seen;
        bus.subscribe("E", seen.handler());
        co_await bus.start();
        bus.stop_consuming();
        co_await bus.start();
        std::vector<event_envelope> batch{test_envelope("E", 1), test_envelope("E", 2)};
        co_await bus.publish(batch);
        EXPECT_TRUE(co_await eventually([&] { return seen.size() == 2; }, 5s));
        co_await bus.shutdown(1s);
    });
}

TEST(RedisDeliveryRules, ConnectCreatesTheGroups)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_bus_config();
        cfg.additional_consumer_groups = {"audit"};
        redis::stream_bus bus(cfg);
        co_await bus.connect();
        auto info = co_await bus.stream_info();
        std::set<std::string> names;
        for (auto const& g : info.groups)
            names.insert(g.name);
        EXPECT_EQ(names, (std::set<std::string>{cfg.consumer_group, "audit"}));
        co_await bus.shutdown(1s);
    });
}

TEST(RedisDeliveryRules, DestroyingTheBusCancelsARunningHandler)
{
    run_coro([]() -> awaitable<void> {
        std::atomic<bool> started{false}, cancelled{false};
        {
            redis::stream_bus bus(make_bus_config());
            bus.subscribe("Long", [&](event_envelope const&) -> awaitable<void> {
                started = true;
                asio::steady_timer t(co_await asio::this_coro::executor, 30s);
                auto [ec] = co_await t.async_wait(use_nothrow);
                if (ec == asio::error::operation_aborted)
                    cancelled = true;
            });
            co_await bus.start();
            std::vector<event_envelope> batch{test_envelope("Long", 1)};
            co_await bus.publish(batch);
            EXPECT_TRUE(co_await eventually([&] { return started.load(); }, 5s));
        }
        EXPECT_TRUE(co_await eventually([&] { return cancelled.load(); }, 2s));
    });
}

TEST(RedisDeliveryRules, ARefusedConnectionFailsAtOnce)
{
    run_coro([]() -> awaitable<void> {
        unsigned short port = 0;
        {
            asio::ip::tcp::acceptor a(co_await asio::this_coro::executor, {asio::ip::make_address("127.0.0.1"), 0});
            port = a.local_endpoint().port();
        }
        auto cfg = make_bus_config();
        cfg.redis_url = "redis://127.0.0.1:" + std::to_string(port);
        redis::stream_bus bus(cfg);
        auto t0 = std::chrono::steady_clock::now();
        std::string message;
        try {
            co_await bus.connect();
        } catch (es::error const& e) {
            message = e.what();
        }
        EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
        EXPECT_NE(message.find(std::to_string(port)), std::string::npos) << message;
        EXPECT_NE(message.find("refused"), std::string::npos) << message;
        co_await bus.shutdown(100ms);
    });
}

// Rule 5: a dead letter goes back to the group that gave up on it, not to every group.
TEST(RedisDeliveryRules, DlqReplayReachesOnlyTheGroupThatDeadLettered)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_bus_config();
        cfg.max_retries = 0;
        cfg.additional_consumer_groups = {"audit"};
        redis::stream_bus bus(cfg);
        std::atomic<bool> broken{true};
        handled_counts projection, audit;
        bus.subscribe("Order", [&](event_envelope const& e) -> awaitable<void> {
            if (broken)
                throw std::runtime_error("projection down");
            projection.add(e);
            co_return;
        });
        subscription audit_sub;
        audit_sub.event_types = {"Order"};
        audit_sub.handler = [&](event_envelope const& e) -> awaitable<void> {
            audit.add(e);
            co_return;
        };
        bus.add_subscription("audit", std::move(audit_sub));
        co_await bus.start();
        std::vector<event_envelope> batch;
        for (int i = 0; i < 5; ++i)
            batch.push_back(test_envelope("Order", i));
        co_await bus.publish(batch);
        EXPECT_TRUE(co_await eventually([&] { return bus.detailed_stats().sent_to_dlq == 5 && audit.total() == 5; }, 5s));
        broken = false;
        auto replayed = co_await bus.replay_all_dlq_messages();
        EXPECT_EQ(replayed, 5u);
        EXPECT_TRUE(co_await eventually([&] { return projection.total() == 5; }, 5s));
        co_await sleep_for(300ms);
        EXPECT_EQ(audit.total(), 5);  // the audit group did not handle them again
        EXPECT_EQ(bus.detailed_stats().skipped_other_group, 5u);
        co_await bus.shutdown(1s);
    });
}

// Rule 7: restarts leave no consumers behind; idle ones with nothing pending are removed.
TEST(RedisDeliveryRules, TwentyRestartsLeaveOnlyLiveConsumers)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_bus_config();
        for (int i = 0; i < 20; ++i) {
            redis::stream_bus bus(cfg);  // a new "<host>-<pid>-<random>" consumer each time
            seen_numbers seen;
            bus.subscribe("E", seen.handler());
            co_await bus.start();
            std::vector<event_envelope> batch{test_envelope("E", i)};
            co_await bus.publish(batch);
            EXPECT_TRUE(co_await eventually([&] { return seen.size() == 1; }, 5s));
            co_await bus.shutdown(1s);
        }
        redis::stream_bus live(cfg);
        seen_numbers live_seen;
        live.subscribe("E", live_seen.handler());
        co_await live.start();
        std::vector<event_envelope> last{test_envelope("E", 99)};
        co_await live.publish(last);  // the consumer exists once it has read
        EXPECT_TRUE(co_await eventually([&] { return live_seen.size() == 1; }, 5s));
        auto info = co_await live.stream_info();
        EXPECT_EQ(info.groups.size(), 1u);
        if (!info.groups.empty()) {
            EXPECT_EQ(info.groups.front().consumers, 1u);
            if (!info.groups.front().consumer_list.empty()) {
                EXPECT_EQ(info.groups.front().consumer_list.front().name, live.consumer_name());
            }
        }
        co_await live.shutdown(1s);
    });
}

TEST(RedisDeliveryRules, IdleConsumersWithNothingPendingAreRemoved)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_bus_config();
        cfg.consumer_idle_cleanup = 100ms;
        cfg.recovery_interval = 50ms;
        redis::stream_bus bus(cfg);
        co_await bus.connect();
        redis::request ghost;
        ghost.push("XGROUP", "CREATECONSUMER", bus.stream_name(), cfg.consumer_group, "ghost");
        co_await redis_call(bus, ghost);
        co_await bus.start();
        bool gone = false;
        for (int i = 0; i < 100 && !gone; ++i) {
            co_await sleep_for(20ms);
            auto info = co_await bus.stream_info();
            gone = true;
            for (auto const& g : info.groups)
                for (auto const& c : g.consumer_list)
                    if (c.name == "ghost")
                        gone = false;
        }
        EXPECT_TRUE(gone);
        EXPECT_GE(bus.detailed_stats().consumers_removed, 1u);
        co_await bus.shutdown(1s);
    });
}

}  // namespace
}  // namespace es::test
