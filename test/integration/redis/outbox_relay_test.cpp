// The outbox relay against the real redis-server, following an in-memory store's log (the
// PostgreSQL-backed relay runs in the system tests and the fault suite).
#include "bus_test_support.hpp"

#include <es/in_memory_event_store.hpp>
#include <es/redis/bus/outbox_relay.hpp>
#include <es/redis/client/request.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <gtest/gtest.h>

#include <set>

namespace es::test {
namespace {

redis::outbox_relay_config relay_config(std::string instance)
{
    redis::outbox_relay_config c;
    c.instance_id = std::move(instance);
    c.batch_size = 7;  // several batches even for small tests
    c.poll_interval = std::chrono::milliseconds(10);
    c.lease_ttl = std::chrono::milliseconds(400);
    c.lease_renew_interval = std::chrono::milliseconds(50);
    c.retry_delay = std::chrono::milliseconds(20);
    return c;
}

void append_events(in_memory_event_store& store, int first, int count)
{
    for (int i = first; i < first + count; ++i) {
        std::vector<new_event> one{make_test_event("RelayTest", i)};
        store.append_now("relay-" + std::to_string(i % 5), expected_version::any(), std::move(one));
    }
}

// Every entry of the stream: (global_position, event_id) in stream order.
awaitable<std::vector<std::pair<std::uint64_t, std::string>>> stream_contents(redis::stream_bus& bus)
{
    std::vector<std::pair<std::uint64_t, std::string>> out;
    auto history = co_await bus.event_history(1'000'000);
    for (auto const& e : history)
        out.emplace_back(e.event.global_position, to_string(e.event.event_id));
    co_return out;
}

void expect_exactly_once_in_order(std::vector<std::pair<std::uint64_t, std::string>> const& entries, std::size_t expected)
{
    EXPECT_EQ(entries.size(), expected);
    std::set<std::string> ids;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        ids.insert(entries[i].second);
        EXPECT_EQ(entries[i].first, i + 1) << "entry " << i << " is out of order or a duplicate";
    }
    EXPECT_EQ(ids.size(), entries.size()) << "an event was published twice";
}

TEST(OutboxRelay, PublishesTheWholeLogInOrderAndStoresTheCheckpoint)
{
    run_coro([]() -> awaitable<void> {
        in_memory_event_store store;
        append_events(store, 0, 40);
        redis::stream_bus bus(co_await asio::this_coro::executor, make_bus_config());
        co_await bus.connect();
        redis::outbox_relay relay(store, bus, relay_config("r1"));
        asio::co_spawn(co_await asio::this_coro::executor, relay.run(), asio::detached);
        EXPECT_TRUE(co_await eventually([&] { return relay.stats().published >= 40; }));
        append_events(store, 40, 10);  // live: the relay keeps following
        EXPECT_TRUE(co_await eventually([&] { return relay.stats().published >= 50; }));
        relay.stop();
        co_await sleep_for(std::chrono::milliseconds(100));
        expect_exactly_once_in_order(co_await stream_contents(bus), 50);
        EXPECT_EQ(co_await relay.stored_checkpoint(), 50u);
        EXPECT_GE(relay.stats().batches, 8u);
        co_await bus.shutdown(std::chrono::milliseconds(200));
    });
}

TEST(OutboxRelay, ARestartedRelayContinuesAfterTheCheckpointWithoutDuplicates)
{
    run_coro([]() -> awaitable<void> {
        in_memory_event_store store;
        append_events(store, 0, 30);
        auto cfg = make_bus_config();
        redis::stream_bus bus(co_await asio::this_coro::executor, cfg);
        co_await bus.connect();
        {
            redis::outbox_relay first(store, bus, relay_config("first"));
            asio::co_spawn(co_await asio::this_coro::executor, first.run(), asio::detached);
            EXPECT_TRUE(co_await eventually([&] { return first.stats().published >= 30; }));
            first.stop();
            co_await sleep_for(std::chrono::milliseconds(100));
        }
        append_events(store, 30, 20);
        redis::outbox_relay second(store, bus, relay_config("second"));
        asio::co_spawn(co_await asio::this_coro::executor, second.run(), asio::detached);
        EXPECT_TRUE(co_await eventually([&] { return second.stats().checkpoint >= 50; }));
        EXPECT_EQ(second.stats().published, 20u) << "the second relay must start after the first one's checkpoint";
        second.stop();
        co_await sleep_for(std::chrono::milliseconds(100));
        expect_exactly_once_in_order(co_await stream_contents(bus), 50);
        co_await bus.shutdown(std::chrono::milliseconds(200));
    });
}

TEST(OutboxRelay, OnlyOneRelayIsActiveAndAnotherTakesOverWhenItDies)
{
    run_coro([]() -> awaitable<void> {
        in_memory_event_store store;
        auto ex = co_await asio::this_coro::executor;
        redis::stream_bus bus(ex, make_bus_config());
        co_await bus.connect();
        redis::outbox_relay a(store, bus, relay_config("a"));
        redis::outbox_relay b(store, bus, relay_config("b"));
        asio::co_spawn(ex, a.run(), asio::detached);
        EXPECT_TRUE(co_await eventually([&] { return a.stats().active; }));
        asio::co_spawn(ex, b.run(), asio::detached);
        append_events(store, 0, 20);
        EXPECT_TRUE(co_await eventually([&] { return a.stats().published >= 20; }));
        EXPECT_FALSE(b.stats().active);
        EXPECT_EQ(b.stats().published, 0u);

        // "Kill" a without releasing the lease: b must wait for it to expire, then take over.
        a.stop();
        co_await sleep_for(std::chrono::milliseconds(100));
        redis::request hold;
        hold.push("SET", a.lease_key(), "a", "PX", "400");
        co_await bus.redis().call(hold);
        append_events(store, 20, 15);
        auto const handover_started = std::chrono::steady_clock::now();
        EXPECT_TRUE(co_await eventually([&] { return b.stats().published >= 15; }));
        auto const took = std::chrono::steady_clock::now() - handover_started;
        EXPECT_GE(took, std::chrono::milliseconds(250)) << "b must not publish while a's lease is valid";
        EXPECT_LT(took, std::chrono::seconds(3));
        b.stop();
        co_await sleep_for(std::chrono::milliseconds(100));
        expect_exactly_once_in_order(co_await stream_contents(bus), 35);
        co_await bus.shutdown(std::chrono::milliseconds(200));
    });
}

TEST(OutboxRelay, AFencedRelayCannotPublishAfterLosingItsLease)
{
    run_coro([]() -> awaitable<void> {
        in_memory_event_store store;
        auto ex = co_await asio::this_coro::executor;
        redis::stream_bus bus(ex, make_bus_config());
        co_await bus.connect();
        auto cfg = relay_config("stalled");
        cfg.lease_renew_interval = std::chrono::seconds(30);  // it will not notice by renewing
        cfg.lease_ttl = std::chrono::seconds(60);
        redis::outbox_relay relay(store, bus, cfg);
        asio::co_spawn(ex, relay.run(), asio::detached);
        EXPECT_TRUE(co_await eventually([&] { return relay.stats().active; }));
        // Another process took the lease meanwhile (as after an expiry during a long stall).
        redis::request steal;
        steal.push("SET", relay.lease_key(), "someone-else", "PX", "60000");
        co_await bus.redis().call(steal);
        append_events(store, 0, 5);
        EXPECT_TRUE(co_await eventually([&] { return relay.stats().fenced >= 1; }));
        co_await sleep_for(std::chrono::milliseconds(100));
        EXPECT_EQ(relay.stats().published, 0u);
        EXPECT_EQ((co_await stream_contents(bus)).size(), 0u);
        relay.stop();
        co_await sleep_for(std::chrono::milliseconds(100));
        co_await bus.shutdown(std::chrono::milliseconds(200));
    });
}

TEST(OutboxRelay, SurvivesAKilledConnection)
{
    run_coro([]() -> awaitable<void> {
        in_memory_event_store store;
        auto ex = co_await asio::this_coro::executor;
        auto bus_cfg = make_bus_config();
        redis::stream_bus bus(ex, bus_cfg);
        co_await bus.connect();
        redis::outbox_relay relay(store, bus, relay_config("killed"));
        asio::co_spawn(ex, relay.run(), asio::detached);
        append_events(store, 0, 20);
        EXPECT_TRUE(co_await eventually([&] { return relay.stats().published >= 20; }));
        auto admin = co_await start_connection();
        redis::request kill;
        kill.push("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
        co_await admin->call(kill);
        append_events(store, 20, 20);
        EXPECT_TRUE(co_await eventually([&] { return relay.stats().published >= 40; }));
        relay.stop();
        co_await sleep_for(std::chrono::milliseconds(100));
        expect_exactly_once_in_order(co_await stream_contents(bus), 40);
        admin->cancel();
        co_await bus.shutdown(std::chrono::milliseconds(200));
    });
}

}  // namespace
}  // namespace es::test
