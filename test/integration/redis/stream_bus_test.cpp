// es::redis::stream_bus: the conformance suite, eventsource-py's tutorial demos (tutorial 17),
// fan-out, history, trimming, the pull consumer and shutdown.
#include "../../conformance/event_bus_conformance.hpp"
#include "bus_test_support.hpp"

#include <es/event_registry.hpp>
#include <es/redis/bus/stream_bus.hpp>

#include <boost/describe/class.hpp>
#include <gtest/gtest.h>

namespace es::test {

// Not in an anonymous namespace: the conformance templates instantiate eventually() with lambdas
// of this type, and g++ warns (-Wsubobject-linkage) about frames holding types without linkage.
struct redis_bus_factory {
    // Each bus gets its own stream and group; it binds to run_coro's executor on first use.
    static std::shared_ptr<es::event_bus> make() { return std::make_shared<redis::stream_bus>(make_bus_config()); }
};

namespace {
using namespace std::chrono_literals;

struct order_created {
    static constexpr std::string_view event_type = "OrderCreated";
    std::string customer_id;
    double total = 0;
};
BOOST_DESCRIBE_STRUCT(order_created, (), (customer_id, total))

struct order_shipped {
    static constexpr std::string_view event_type = "OrderShipped";
    std::string tracking_number;
};
BOOST_DESCRIBE_STRUCT(order_shipped, (), (tracking_number))

event_registry order_registry()
{
    event_registry r;
    r.add<order_created>();
    r.add<order_shipped>();
    return r;
}

template <class E>
event_envelope order_envelope(E const& e, std::string const& order_id, std::uint64_t version)
{
    auto ne = event_registry::encode(e);
    ne.aggregate_type = "Order";
    ne.aggregate_id = order_id;
    return make_envelope(ne, "order-" + order_id, version, version, now());
}

}  // namespace

INSTANTIATE_TYPED_TEST_SUITE_P(Redis, EventBusConformance, redis_bus_factory);

namespace {

// Demo 1: basic publish/subscribe.
TEST(RedisBusTutorial, BasicPublishSubscribe)
{
    run_coro([]() -> awaitable<void> {
        auto registry = order_registry();
        auto cfg = make_bus_config();
        cfg.registry = &registry;
        redis::stream_bus bus(cfg);
        std::vector<std::string> received;
        bus.subscribe("OrderCreated", [&](event_envelope const& e) -> awaitable<void> {
            received.push_back(e.aggregate_id);
            co_return;
        });
        std::vector<event_envelope> batch{order_envelope(order_created{"cust-123", 99.99}, "o-1", 1)};
        co_await bus.publish(batch);
        co_await bus.start();
        EXPECT_TRUE(co_await eventually([&] { return received.size() == 1; }));
        EXPECT_EQ(received.at(0), "o-1");
        co_await bus.shutdown(2s);
        auto s = bus.detailed_stats();
        EXPECT_EQ(s.published, 1u);
        EXPECT_EQ(s.consumed, 1u);
        EXPECT_EQ(s.processed_ok, 1u);
    });
}

// Demo 2: two workers in one group split six events without duplicates.
TEST(RedisBusTutorial, TwoWorkersInOneGroupSplitTheEvents)
{
    run_coro([]() -> awaitable<void> {
        auto cfg1 = make_bus_config();
        cfg1.batch_size = 1;
        cfg1.consumer_name = "worker-1";
        auto cfg2 = cfg1;
        cfg2.consumer_name = "worker-2";
        redis::stream_bus bus1(cfg1), bus2(cfg2);
        seen_numbers w1, w2;
        bus1.subscribe("OrderCreated", w1.handler());
        bus2.subscribe("OrderCreated", w2.handler());
        co_await bus1.start();
        co_await bus2.start();
        for (int i = 0; i < 6; ++i) {
            std::vector<event_envelope> batch{test_envelope("OrderCreated", i)};
            co_await bus1.publish(batch);
            co_await sleep_for(20ms);
        }
        EXPECT_TRUE(co_await eventually([&] { return w1.size() + w2.size() >= 6; }));
        co_await sleep_for(100ms);
        EXPECT_EQ(w1.size() + w2.size(), 6u);
        auto all = w1.distinct();
        for (int n : w2.distinct())
            EXPECT_TRUE(all.insert(n).second) << "event " << n << " went to both workers";
        EXPECT_EQ(all.size(), 6u);
        EXPECT_GT(w1.size(), 0u);
        EXPECT_GT(w2.size(), 0u);
        co_await bus1.shutdown(2s);
        co_await bus2.shutdown(2s);
    });
}

// Demo 3: statistics and stream info after ten publishes.
TEST(RedisBusTutorial, StatsAndStreamInfoAfterTenPublishes)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_bus_config();
        redis::stream_bus bus(cfg);
        seen_numbers seen;
        bus.subscribe("OrderCreated", seen.handler());
        bus.subscribe_all([](event_envelope const&) -> awaitable<void> { co_return; });
        for (int i = 0; i < 10; ++i) {
            std::vector<event_envelope> batch{test_envelope("OrderCreated", i)};
            co_await bus.publish(batch);
        }
        auto before = co_await bus.stream_info();
        EXPECT_EQ(before.stream, cfg.stream_prefix + ":stream");
        EXPECT_EQ(before.length, 10u);
        EXPECT_TRUE(before.groups.empty());
        EXPECT_EQ(before.dlq_length, 0u);
        EXPECT_FALSE(before.first_id.empty());
        co_await bus.start();
        EXPECT_TRUE(co_await eventually([&] { return seen.size() == 10; }));
        EXPECT_TRUE(co_await eventually([&] { return bus.detailed_stats().processed_ok == 10; }));
        co_await sleep_for(50ms);
        auto info = co_await bus.stream_info();
        EXPECT_EQ(info.length, 10u);
        EXPECT_EQ(info.groups.size(), 1u);
        EXPECT_EQ(info.groups.at(0).name, cfg.consumer_group);
        EXPECT_EQ(info.groups.at(0).pending, 0u);
        EXPECT_EQ(info.groups.at(0).lag.value_or(99), 0u);
        EXPECT_EQ(info.groups.at(0).consumer_list.size(), 1u);
        EXPECT_EQ(info.total_pending, 0u);
        EXPECT_EQ(info.last_id, info.groups.at(0).last_delivered_id);
        auto s = bus.detailed_stats();
        EXPECT_EQ(s.published, 10u);
        EXPECT_EQ(s.consumed, 10u);
        EXPECT_EQ(s.handler_successes, 20u);
        EXPECT_EQ(bus.subscriber_count(), 2u);
        EXPECT_EQ(bus.wildcard_subscriber_count(), 1u);
        EXPECT_GT(s.handler_latency_p99.count(), -1);
        co_await bus.shutdown(2s);
    });
}

// Demo 4: a projection (OrderCreated + OrderShipped) and an audit subscriber for everything.
TEST(RedisBusTutorial, ProjectionAndAuditSubscriber)
{
    struct order_count_projection final : event_subscriber {
        std::atomic<int> created{0}, shipped{0};
        std::vector<std::string> subscribed_to() const override { return {"OrderCreated", "OrderShipped"}; }
        awaitable<void> handle(event_envelope const& e) override
        {
            ++(e.event_type == "OrderCreated" ? created : shipped);
            co_return;
        }
    };
    run_coro([]() -> awaitable<void> {
        auto registry = order_registry();
        auto cfg = make_bus_config();
        cfg.registry = &registry;
        redis::stream_bus bus(cfg);
        auto projection = std::make_shared<order_count_projection>();
        bus.subscribe(projection);
        std::vector<std::string> audit;
        bus.subscribe_all([&](event_envelope const& e) -> awaitable<void> {
            audit.push_back(e.event_type + " " + format_timestamp(e.occurred_at));
            co_return;
        });
        std::vector<event_envelope> created{order_envelope(order_created{"premium-customer", 499.99}, "o-9", 1)};
        std::vector<event_envelope> shipped{order_envelope(order_shipped{"TRACK-12345"}, "o-9", 2)};
        co_await bus.publish(created);
        co_await bus.publish(shipped);
        co_await bus.start();
        EXPECT_TRUE(co_await eventually([&] { return audit.size() == 2 && projection->shipped == 1; }));
        EXPECT_EQ(projection->created.load(), 1);
        EXPECT_EQ(projection->shipped.load(), 1);
        EXPECT_EQ(audit.at(0).rfind("OrderCreated", 0), 0u);
        co_await bus.shutdown(2s);
    });
}

TEST(RedisBus, FanOutAcrossConsumerGroups)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_bus_config();
        cfg.additional_consumer_groups = {"notifications"};
        redis::stream_bus bus(cfg);
        seen_numbers projections, notifications, other_process;
        bus.subscribe_all(projections.handler());
        subscription sub{{}, notifications.handler(), "notify"};
        bus.add_subscription("notifications", sub);
        auto cfg2 = cfg;
        cfg2.consumer_group = "audit";
        cfg2.additional_consumer_groups.clear();
        redis::stream_bus audit_bus(cfg2);
        audit_bus.subscribe_all(other_process.handler());
        co_await bus.start();
        co_await audit_bus.start();
        std::vector<event_envelope> batch;
        for (int i = 0; i < 5; ++i)
            batch.push_back(test_envelope("Fanned", i));
        co_await bus.publish(batch);
        EXPECT_TRUE(co_await eventually(
            [&] { return projections.size() == 5 && notifications.size() == 5 && other_process.size() == 5; }));
        auto info = co_await bus.stream_info();
        EXPECT_EQ(info.groups.size(), 3u);
        bool rejected = false;
        try {
            bus.add_subscription("no-such-group", sub);
        } catch (es::error const&) {
            rejected = true;
        }
        EXPECT_TRUE(rejected);
        co_await bus.shutdown(2s);
        co_await audit_bus.shutdown(2s);
    });
}

TEST(RedisBus, PublishOptionsAtomicPerTypeStreamsAndMaxLen)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_bus_config();
        cfg.atomic_publish = true;
        cfg.per_type_streams = true;
        cfg.max_stream_length = 10;
        redis::stream_bus bus(cfg);
        std::vector<event_envelope> batch;
        for (int i = 0; i < 300; ++i)
            batch.push_back(test_envelope(i % 3 ? "Even" : "Odd", i));
        co_await bus.publish(batch);
        auto len = co_await redis::xlen(bus.redis(), bus.stream_name());
        EXPECT_LT(len, 300);  // MAXLEN ~ trims in whole radix-tree nodes
        EXPECT_GE(len, 10);
        auto odd = co_await redis::xlen(bus.redis(), bus.type_stream_name("Odd"));
        EXPECT_GE(odd, 10);
        EXPECT_LE(odd, 100);
        EXPECT_EQ(bus.detailed_stats().published, 300u);
        co_await bus.shutdown(1s);
    });
}

TEST(RedisBus, HistoryReplayAndTrim)
{
    run_coro([]() -> awaitable<void> {
        redis::stream_bus bus(make_bus_config());
        std::vector<event_envelope> batch;
        for (int i = 0; i < 20; ++i)
            batch.push_back(test_envelope("History", i));
        co_await bus.publish(batch);
        auto history = co_await bus.event_history(5);
        EXPECT_EQ(history.size(), 5u);
        EXPECT_EQ(history.at(0).event, batch.at(0));
        auto from_third = co_await bus.event_history(100, history.at(2).message_id, "+");
        EXPECT_EQ(from_third.size(), 18u);
        auto one = co_await bus.get_event(history.at(1).message_id);
        EXPECT_TRUE(one.has_value());
        EXPECT_EQ(one->payload.at("n").to_number<int>(), 1);
        EXPECT_FALSE((co_await bus.get_event("1-1")).has_value());

        seen_numbers replayed;
        bus.subscribe("History", replayed.handler());
        EXPECT_EQ(co_await bus.replay(history.at(4).message_id, 10), 10u);
        EXPECT_EQ(replayed.size(), 10u);
        EXPECT_EQ(*replayed.distinct().begin(), 4);

        EXPECT_EQ(co_await bus.trim(15), 5);
        EXPECT_EQ((co_await bus.stream_info()).length, 15u);
        EXPECT_EQ(co_await bus.trim_older_than(1h), 0);
        co_await sleep_for(5ms);
        EXPECT_EQ(co_await bus.trim_older_than(1ms), 15);
        co_await bus.shutdown(1s);
    });
}

TEST(RedisBus, PullConsumerYieldsEventsWithTheirAck)
{
    run_coro([]() -> awaitable<void> {
        redis::stream_bus bus(make_bus_config());
        std::vector<event_envelope> batch;
        for (int i = 0; i < 3; ++i)
            batch.push_back(test_envelope("Pulled", i));
        co_await bus.publish(batch);
        auto consumer = co_await bus.make_consumer("pullers", "worker-1");
        for (int i = 0; i < 3; ++i) {
            auto d = co_await consumer.next();
            EXPECT_EQ(d.event.payload.at("n").to_number<int>(), i);
            if (i < 2)
                co_await d.ack();
        }
        EXPECT_FALSE((co_await consumer.next(50ms)).has_value());
        auto pending = co_await redis::xpending_summary(bus.redis(), bus.stream_name(), "pullers");
        EXPECT_EQ(pending.count, 1u);  // the one not acked
        consumer.close();
        co_await bus.shutdown(1s);
    });
}

TEST(RedisBus, ShutdownLetsARunningHandlerFinishAndAck)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_bus_config();
        redis::stream_bus bus(cfg);
        std::atomic<bool> started{false}, finished{false};
        bus.subscribe("Slow", [&](event_envelope const&) -> awaitable<void> {
            started = true;
            co_await sleep_for(300ms);
            finished = true;
        });
        co_await bus.start();
        std::vector<event_envelope> batch{test_envelope("Slow", 1)};
        co_await bus.publish(batch);
        EXPECT_TRUE(co_await eventually([&] { return started.load(); }));
        co_await bus.shutdown(2s);
        EXPECT_TRUE(finished.load());
        redis::stream_bus admin(cfg);
        co_await admin.connect();
        auto pending = co_await redis::xpending_summary(admin.redis(), admin.stream_name(), cfg.consumer_group);
        EXPECT_EQ(pending.count, 0u);
        co_await admin.shutdown(1s);
    });
}

TEST(RedisBus, ShutdownCancelsAHandlerPastTheTimeoutAndLeavesItsEntryPending)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_bus_config();
        cfg.recovery_interval = 0ms;
        redis::stream_bus bus(cfg);
        std::atomic<bool> started{false}, finished{false};
        bus.subscribe("Stuck", [&](event_envelope const&) -> awaitable<void> {
            started = true;
            co_await sleep_for(10s);
            finished = true;
        });
        co_await bus.start();
        std::vector<event_envelope> batch{test_envelope("Stuck", 1)};
        co_await bus.publish(batch);
        EXPECT_TRUE(co_await eventually([&] { return started.load(); }));
        auto t0 = std::chrono::steady_clock::now();
        co_await bus.shutdown(100ms);
        EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
        EXPECT_FALSE(finished.load());
        redis::stream_bus admin(cfg);
        co_await admin.connect();
        auto pending = co_await redis::xpending_summary(admin.redis(), admin.stream_name(), cfg.consumer_group);
        EXPECT_EQ(pending.count, 1u);
        co_await admin.shutdown(1s);
    });
}

}  // namespace
}  // namespace es::test

namespace es::test {
namespace {
using namespace std::chrono_literals;

TEST(RedisBus, WorksOnAMultiThreadedIoContext)
{
    run_coro(
        []() -> awaitable<void> {
            auto cfg = make_bus_config();
            cfg.additional_consumer_groups = {"second"};
            cfg.batch_size = 10;
            redis::stream_bus bus(cfg);
            seen_numbers first, second;
            bus.subscribe_all(first.handler());
            subscription sub{{}, second.handler(), "second"};
            bus.add_subscription("second", sub);
            co_await bus.start();
            auto ex = co_await asio::this_coro::executor;
            std::atomic<int> publishers{0};
            for (int p = 0; p < 4; ++p) {
                ++publishers;
                asio::co_spawn(
                    ex,
                    [&, p]() -> awaitable<void> {
                        for (int i = 0; i < 100; ++i) {
                            std::vector<event_envelope> batch{test_envelope("Threaded", p * 100 + i)};
                            co_await bus.publish(batch);
                        }
                    },
                    [&](std::exception_ptr) { --publishers; });
            }
            EXPECT_TRUE(co_await eventually([&] { return publishers == 0; }));
            EXPECT_TRUE(co_await eventually([&] { return first.distinct().size() == 400 && second.distinct().size() == 400; }));
            EXPECT_EQ(bus.detailed_stats().published, 400u);
            co_await bus.shutdown(2s);
        },
        30s, 2);
}

}  // namespace
}  // namespace es::test
