// The outbox relay against the real redis-server, following an in-memory store's log (the
// PostgreSQL-backed relay runs in the system tests and the fault suite).
#include "bus_test_support.hpp"

#include <es/in_memory_event_store.hpp>
#include <es/redis/bus/outbox_relay.hpp>
#include <es/redis/client/request.hpp>
#include <es/task_group.hpp>

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

// A relay whose every wait is ten seconds long, with its store, its bus and the group that owns
// its run(): a run() that ends promptly after stop() was woken, it did not wait its turn.
struct sleepy_relay {
    in_memory_event_store store;
    redis::stream_bus bus;
    redis::outbox_relay relay;
    task_group owner;

    static redis::outbox_relay_config config(std::string instance)
    {
        auto c = relay_config(std::move(instance));
        c.poll_interval = std::chrono::seconds(10);
        c.retry_delay = std::chrono::seconds(10);
        c.lease_renew_interval = std::chrono::seconds(10);
        c.lease_ttl = std::chrono::seconds(30);
        return c;
    }

    sleepy_relay(asio::any_io_executor ex, std::string instance, int events)
        : bus(ex, make_bus_config()), relay(store, bus, config(std::move(instance)))
    {
        append_events(store, 0, events);
    }

    void start(asio::any_io_executor ex) { owner.spawn(std::move(ex), relay.run(), "relay"); }

    awaitable<void> set(std::string const& key, std::string const& value)
    {
        redis::request req;
        req.push("SET", key, value, "PX", "60000");
        co_await bus.redis().call(req);
    }

    // Stops the relay (or cancels its owner) and expects run() to end within 100 ms.
    awaitable<void> expect_prompt_end(bool cancel_owner)
    {
        auto const asked = std::chrono::steady_clock::now();
        if (cancel_owner)
            owner.cancel();
        else
            relay.stop();
        bool const ended = co_await owner.join_for(std::chrono::seconds(5));
        auto const took = std::chrono::steady_clock::now() - asked;
        EXPECT_TRUE(ended) << "run() did not end within 5 s";
        EXPECT_LT(took, std::chrono::milliseconds(100));
    }

    awaitable<bool> lease_is_free()
    {
        redis::request get;
        get.push("GET", relay.lease_key());
        auto r = co_await bus.redis().call(get);
        co_return r.is_nil();
    }
};

TEST(OutboxRelay, PublishesTheWholeLogInOrderAndStoresTheCheckpoint)
{
    run_coro([]() -> awaitable<void> {
        in_memory_event_store store;
        append_events(store, 0, 40);
        redis::stream_bus bus(co_await asio::this_coro::executor, make_bus_config());
        co_await bus.connect();
        redis::outbox_relay relay(store, bus, relay_config("r1"));
        task_group relays;
        relays.spawn(co_await asio::this_coro::executor, relay.run(), "relay r1");
        EXPECT_TRUE(co_await eventually([&] { return relay.stats().published >= 40; }));
        append_events(store, 40, 10);  // live: the relay keeps following
        EXPECT_TRUE(co_await eventually([&] { return relay.stats().published >= 50; }));
        relay.stop();
        co_await relays.join();
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
        task_group relays;
        {
            redis::outbox_relay first(store, bus, relay_config("first"));
            relays.spawn(co_await asio::this_coro::executor, first.run(), "relay first");
            EXPECT_TRUE(co_await eventually([&] { return first.stats().published >= 30; }));
            first.stop();
            co_await relays.join();
        }
        append_events(store, 30, 20);
        redis::outbox_relay second(store, bus, relay_config("second"));
        relays.spawn(co_await asio::this_coro::executor, second.run(), "relay second");
        EXPECT_TRUE(co_await eventually([&] { return second.stats().checkpoint >= 50; }));
        EXPECT_EQ(second.stats().published, 20u) << "the second relay must start after the first one's checkpoint";
        second.stop();
        co_await relays.join();
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
        task_group relay_a;
        task_group relay_b;
        relay_a.spawn(ex, a.run(), "relay a");
        EXPECT_TRUE(co_await eventually([&] { return a.stats().active; }));
        relay_b.spawn(ex, b.run(), "relay b");
        append_events(store, 0, 20);
        EXPECT_TRUE(co_await eventually([&] { return a.stats().published >= 20; }));
        EXPECT_FALSE(b.stats().active);
        EXPECT_EQ(b.stats().published, 0u);

        // "Kill" a without releasing the lease: b must wait for it to expire, then take over.
        a.stop();
        co_await relay_a.join();
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
        co_await relay_b.join();
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
        task_group relays;
        relays.spawn(ex, relay.run(), "relay stalled");
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
        co_await relays.join();
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
        task_group relays;
        relays.spawn(ex, relay.run(), "relay killed");
        append_events(store, 0, 20);
        EXPECT_TRUE(co_await eventually([&] { return relay.stats().published >= 20; }));
        auto admin = co_await start_connection();
        redis::request kill;
        kill.push("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
        co_await admin->call(kill);
        append_events(store, 20, 20);
        EXPECT_TRUE(co_await eventually([&] { return relay.stats().published >= 40; }));
        relay.stop();
        co_await relays.join();
        expect_exactly_once_in_order(co_await stream_contents(bus), 40);
        admin->cancel();
        co_await bus.shutdown(std::chrono::milliseconds(200));
    });
}

// A caught-up relay sleeps its poll interval; stop() or its owner's cancellation ends run() at
// once, and the lease is released for the next relay either way.
awaitable<void> caught_up_relay_ends_promptly(bool cancel_owner)
{
    auto ex = co_await asio::this_coro::executor;
    sleepy_relay r(ex, "idle", 5);
    co_await r.bus.connect();
    r.start(ex);
    EXPECT_TRUE(co_await eventually([&] { return r.relay.stats().published >= 5; }));
    co_await sleep_for(std::chrono::milliseconds(100));  // now in its 10 s poll interval
    co_await r.expect_prompt_end(cancel_owner);
    EXPECT_FALSE(r.owner.first_failure()) << "run() ends quietly";
    bool const free = co_await r.lease_is_free();
    EXPECT_TRUE(free) << "a stopped relay releases its lease for the next one";
    co_await r.bus.shutdown(std::chrono::milliseconds(200));
}

TEST(OutboxRelay, StopWakesACaughtUpRelayAtOnceAndReleasesTheLease)
{
    run_coro([]() { return caught_up_relay_ends_promptly(false); });
}

TEST(OutboxRelay, CancellingTheOwnerEndsRunAndReleasesTheLease)
{
    run_coro([]() { return caught_up_relay_ends_promptly(true); });
}

// A relay that cannot publish sleeps too: a standby one until its next lease attempt (another
// relay holds the lease), a failing one until its retry (its checkpoint is unreadable). stop()
// wakes either at once.
awaitable<void> blocked_relay_ends_promptly(bool standby)
{
    auto ex = co_await asio::this_coro::executor;
    sleepy_relay r(ex, "blocked", 0);
    co_await r.bus.connect();
    if (standby)
        co_await r.set(r.relay.lease_key(), "someone-else");
    else
        co_await r.set(r.relay.checkpoint_key(), "not-a-number");
    r.start(ex);
    if (standby)
        co_await sleep_for(std::chrono::milliseconds(200));
    else
        EXPECT_TRUE(co_await eventually([&] { return r.relay.stats().errors >= 1; }));
    co_await r.expect_prompt_end(false);
    EXPECT_FALSE(r.relay.stats().active);
    if (standby) {
        bool const free = co_await r.lease_is_free();
        EXPECT_FALSE(free) << "a standby relay must not release another relay's lease";
    } else {
        EXPECT_EQ(r.relay.stats().errors, 1u) << "no second attempt: it was asleep until stopped";
    }
    co_await r.bus.shutdown(std::chrono::milliseconds(200));
}

TEST(OutboxRelay, StopWakesAStandbyRelayAtOnce)
{
    run_coro([]() { return blocked_relay_ends_promptly(true); });
}

TEST(OutboxRelay, StopWakesARelayWaitingToRetryAtOnce)
{
    run_coro([]() { return blocked_relay_ends_promptly(false); });
}

TEST(OutboxRelay, RunReturnsAtOnceWhenStoppedBeforeItStarts)
{
    run_coro([]() -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        sleepy_relay r(ex, "early", 3);
        co_await r.bus.connect();
        r.relay.stop();
        r.start(ex);
        bool const ended = co_await r.owner.join_for(std::chrono::milliseconds(100));
        EXPECT_TRUE(ended);
        EXPECT_EQ(r.relay.stats().published, 0u);
        co_await r.bus.shutdown(std::chrono::milliseconds(200));
    });
}

}  // namespace
}  // namespace es::test
