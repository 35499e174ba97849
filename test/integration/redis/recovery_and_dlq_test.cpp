// es::redis::stream_bus: pending recovery, the dead-letter queue, and surviving connection loss
// and a server restart without losing events.
#include "bus_test_support.hpp"

#include <es/event_registry.hpp>
#include <es/redis/bus/stream_bus.hpp>

#include <gtest/gtest.h>

namespace es::test {
namespace {
using namespace std::chrono_literals;

TEST(RedisBusRecovery, AlwaysFailingHandlerLandsInTheDlqAndReplaysAfterTheFix)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_bus_config();
        cfg.max_retries = 2;
        cfg.pending_idle_time = 30ms;
        cfg.recovery_interval = 40ms;
        redis::stream_bus bus(cfg);
        std::atomic<bool> broken{true};
        std::atomic<int> attempts{0};
        seen_numbers ok;
        bus.subscribe("Poison", [&](event_envelope const& e) -> awaitable<void> {
            ++attempts;
            if (broken)
                throw std::runtime_error("projection database unavailable");
            ok.add(e);
            co_return;
        });
        seen_numbers healthy;
        bus.subscribe("Healthy", healthy.handler());
        co_await bus.start();
        std::vector<event_envelope> batch{test_envelope("Poison", 7), test_envelope("Healthy", 8)};
        co_await bus.publish(batch);
        EXPECT_TRUE(co_await eventually([&] { return bus.detailed_stats().sent_to_dlq == 1; }, 5s));
        EXPECT_EQ(healthy.size(), 1u);  // other messages keep flowing
        EXPECT_EQ(attempts.load(), 3);  // first delivery + max_retries retries, then the DLQ

        auto dead = co_await bus.dlq_messages(10);
        EXPECT_EQ(dead.size(), 1u);
        if (!dead.empty()) {
            auto const& m = dead.front();
            EXPECT_EQ(m.event_type, "Poison");
            EXPECT_EQ(m.group, cfg.consumer_group);
            EXPECT_EQ(m.retry_count, 2u);  // = max_retries
            EXPECT_NE(m.reason.find("projection database unavailable"), std::string::npos) << m.reason;
            EXPECT_FALSE(m.original_id.empty());
            EXPECT_FALSE(m.failed_at.empty());
        }
        auto info = co_await bus.stream_info();
        EXPECT_EQ(info.dlq_length, 1u);
        EXPECT_EQ(info.total_pending, 0u);  // dead-lettered entries are acked

        broken = false;
        EXPECT_TRUE(co_await bus.replay_dlq_message(dead.at(0).message_id));
        EXPECT_FALSE(co_await bus.replay_dlq_message(dead.at(0).message_id));
        EXPECT_TRUE(co_await eventually([&] { return ok.size() == 1; }));
        EXPECT_EQ(*ok.distinct().begin(), 7);
        EXPECT_EQ((co_await bus.stream_info()).dlq_length, 0u);
        co_await bus.shutdown(2s);
    });
}

TEST(RedisBusRecovery, ReprocessThatFailsAgainIsCountedAsFailed)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_bus_config();
        cfg.recovery_interval = 0ms;
        cfg.max_retries = 5;
        redis::stream_bus bus(cfg);
        std::atomic<int> calls{0};
        bus.subscribe("Flaky", [&](event_envelope const&) -> awaitable<void> {
            if (++calls <= 2)
                throw std::runtime_error("flaky");
            co_return;
        });
        co_await bus.start();
        std::vector<event_envelope> batch{test_envelope("Flaky", 1)};
        co_await bus.publish(batch);
        EXPECT_TRUE(co_await eventually([&] { return calls.load() == 1; }));
        auto first = co_await bus.recover_pending_messages(0ms, 5, 10);
        EXPECT_EQ(first.claimed, 1u);
        EXPECT_EQ(first.failed, 1u);
        EXPECT_EQ(first.reprocessed, 0u);
        auto second = co_await bus.recover_pending_messages(0ms, 5, 10);
        EXPECT_EQ(second.reprocessed, 1u);
        EXPECT_EQ(second.failed, 0u);
        auto third = co_await bus.recover_pending_messages(0ms, 5, 10);
        EXPECT_EQ(third.checked, 0u);
        EXPECT_EQ(bus.detailed_stats().recovered, 1u);
        co_await bus.shutdown(2s);
    });
}

TEST(RedisBusRecovery, EntriesOfAConsumerThatDiedAreRecoveredByAnother)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_bus_config();
        redis::stream_bus producer(cfg);
        std::vector<event_envelope> batch;
        for (int i = 0; i < 10; ++i)
            batch.push_back(test_envelope("Work", i));
        co_await producer.publish(batch);
        {
            // Takes every entry and dies without acking.
            auto doomed = co_await producer.make_consumer(cfg.consumer_group, "doomed");
            for (int i = 0; i < 10; ++i)
                co_await doomed.next();
            doomed.close();
        }
        auto cfg2 = cfg;
        cfg2.consumer_name = "survivor";
        redis::stream_bus survivor(cfg2);
        seen_numbers seen;
        survivor.subscribe("Work", seen.handler());
        co_await survivor.start();
        EXPECT_TRUE(co_await eventually([&] { return seen.distinct().size() == 10; }, 5s));
        EXPECT_TRUE(co_await eventually([&] { return survivor.detailed_stats().recovered == 10; }, 5s));
        auto pending = co_await redis::xpending_summary(survivor.redis(), survivor.stream_name(), cfg.consumer_group);
        EXPECT_EQ(pending.count, 0u);
        co_await survivor.shutdown(2s);
        co_await producer.shutdown(1s);
    });
}

TEST(RedisBusRecovery, APendingListLargerThanOnePageIsWalkedToTheEnd)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_bus_config();
        cfg.recovery_interval = 0ms;
        cfg.consumer_name = "recoverer";
        redis::stream_bus bus(cfg);
        std::vector<event_envelope> batch;
        for (int i = 0; i < 250; ++i)
            batch.push_back(test_envelope("Bulk", i));
        co_await bus.publish(batch);
        {
            auto doomed = co_await bus.make_consumer(cfg.consumer_group, "doomed");
            for (int i = 0; i < 250; ++i)
                co_await doomed.next();
        }
        seen_numbers seen;
        bus.subscribe("Bulk", seen.handler());
        // XAUTOCLAIM COUNT 20: the PEL of 250 needs many pages; every one is followed.
        auto r = co_await bus.recover_pending_messages(0ms, 5, 20);
        EXPECT_EQ(r.checked, 250u);
        EXPECT_EQ(r.claimed, 250u);
        EXPECT_EQ(r.reprocessed, 250u);
        EXPECT_EQ(seen.distinct().size(), 250u);
        auto pending = co_await redis::xpending_summary(bus.redis(), bus.stream_name(), cfg.consumer_group);
        EXPECT_EQ(pending.count, 0u);
        co_await bus.shutdown(1s);
    });
}

TEST(RedisBusRecovery, UnknownTypesAndUndecodableEntriesGoToTheDlqWithTheReason)
{
    run_coro([]() -> awaitable<void> {
        event_registry registry;  // knows no type at all
        auto cfg = make_bus_config();
        cfg.registry = &registry;
        redis::stream_bus bus(cfg);
        seen_numbers seen;
        bus.subscribe_all(seen.handler());
        co_await bus.start();
        std::vector<event_envelope> batch{test_envelope("NobodyKnowsMe", 1)};
        co_await bus.publish(batch);
        redis::field_list garbage{{"event_id", "not-a-uuid"}, {"payload", "{truncated"}};
        co_await redis::xadd(bus.redis(), bus.stream_name(), garbage);
        EXPECT_TRUE(co_await eventually([&] { return bus.detailed_stats().sent_to_dlq == 2; }));
        auto dead = co_await bus.dlq_messages(10);
        EXPECT_EQ(dead.size(), 2u);
        if (dead.size() == 2) {
            EXPECT_NE(dead[0].reason.find("unknown event type 'NobodyKnowsMe'"), std::string::npos) << dead[0].reason;
            EXPECT_NE(dead[1].reason.find("malformed"), std::string::npos) << dead[1].reason;
        }
        EXPECT_EQ(seen.size(), 0u);
        auto s = bus.detailed_stats();
        EXPECT_EQ(s.unknown_type, 1u);
        EXPECT_EQ(s.malformed, 1u);
        EXPECT_EQ((co_await bus.stream_info()).total_pending, 0u);
        EXPECT_EQ(co_await bus.purge_dlq(), 2u);
        EXPECT_TRUE((co_await bus.dlq_messages(10)).empty());
        co_await bus.shutdown(1s);
    });
}

TEST(RedisBusRecovery, ReplayAllDlqMessages)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_bus_config();
        cfg.max_retries = 0;
        cfg.pending_idle_time = 10ms;
        cfg.recovery_interval = 20ms;
        redis::stream_bus bus(cfg);
        std::atomic<bool> broken{true};
        seen_numbers ok;
        bus.subscribe("Retry", [&](event_envelope const& e) -> awaitable<void> {
            if (broken)
                throw std::runtime_error("down");
            ok.add(e);
            co_return;
        });
        co_await bus.start();
        std::vector<event_envelope> batch;
        for (int i = 0; i < 5; ++i)
            batch.push_back(test_envelope("Retry", i));
        co_await bus.publish(batch);
        EXPECT_TRUE(co_await eventually([&] { return bus.detailed_stats().sent_to_dlq == 5; }));
        broken = false;
        EXPECT_EQ(co_await bus.replay_all_dlq_messages(), 5u);
        EXPECT_TRUE(co_await eventually([&] { return ok.distinct().size() == 5; }));
        co_await bus.shutdown(2s);
    });
}

// Publishes `total` events numbered from `first`, a few at a time.
awaitable<void> publish_numbers(redis::stream_bus& bus, int first, int total)
{
    for (int i = first; i < first + total; ++i) {
        std::vector<event_envelope> batch{test_envelope("Durable", i)};
        bool sent = false;
        while (!sent) {
            try {
                co_await bus.publish(batch);
                sent = true;
            } catch (es::error const&) {
                // The server may be restarting: publish again (at-least-once; consumers see
                // duplicates at worst).
            }
            if (!sent)
                co_await sleep_for(20ms);
        }
        if (i % 10 == 0)
            co_await sleep_for(5ms);
    }
}

TEST(RedisBusRecovery, ClientKillWhileConsumingLosesNothing)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_bus_config();
        cfg.consumer_name = unique_name("killed");
        redis::stream_bus bus(cfg);
        seen_numbers seen;
        bus.subscribe("Durable", seen.handler());
        co_await bus.start();
        auto admin = co_await start_connection();
        co_await publish_numbers(bus, 0, 100);
        EXPECT_TRUE(co_await eventually([&] { return seen.size() >= 50; }));
        redis::request list;
        list.push("CLIENT", "LIST");
        auto clients = co_await admin->call(list);
        auto ids = client_ids_named(clients.str, "es-bus-" + cfg.consumer_name);
        EXPECT_GE(ids.size(), 2u);  // the shared and the group's blocking connection
        for (auto const& id : ids) {
            redis::request kill;
            kill.push("CLIENT", "KILL", "ID", id);
            co_await admin->exec(kill);
        }
        co_await publish_numbers(bus, 100, 100);
        EXPECT_TRUE(co_await eventually([&] { return seen.distinct().size() == 200; }, 10s));
        EXPECT_GE(bus.detailed_stats().reconnections, 1u);
        co_await bus.shutdown(2s);
        admin->cancel();
    });
}

TEST(RedisBusRecovery, ServerRestartWhileConsumingLosesNothing)
{
    exclusive_redis_server lock;
    run_coro(
        []() -> awaitable<void> {
            auto cfg = make_bus_config();
            redis::stream_bus bus(cfg);
            seen_numbers seen;
            bus.subscribe("Durable", seen.handler());
            co_await bus.start();
            co_await publish_numbers(bus, 0, 100);
            EXPECT_TRUE(co_await eventually([&] { return seen.size() >= 100; }));
            auto port = std::to_string(redis_port());
            shell("redis-cli -h 127.0.0.1 -p " + port + " shutdown nosave >/dev/null 2>&1");
            shell("redis-server " + required_env("ES_TEST_REDIS_CONF"));
            co_await publish_numbers(bus, 100, 100);
            EXPECT_TRUE(co_await eventually([&] { return seen.distinct().size() == 200; }, 15s));
            EXPECT_GE(bus.detailed_stats().reconnections, 1u);
            auto pending = co_await redis::xpending_summary(bus.redis(), bus.stream_name(), cfg.consumer_group);
            EXPECT_EQ(pending.count, 0u);
            co_await bus.shutdown(2s);
        },
        40s);
}

}  // namespace
}  // namespace es::test
