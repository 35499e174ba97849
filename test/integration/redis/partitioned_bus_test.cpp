// es::redis::partitioned_bus against a real redis-server: partitions shared out within a group,
// per-aggregate order, takeover of a dead consumer's partitions, deterministic routing.
#include "bus_test_support.hpp"

#include <es/redis/bus/partitioned_bus.hpp>

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <random>
#include <set>

namespace es::test {
namespace {

using namespace std::chrono_literals;

redis::partitioned_bus_config make_partitioned_config(std::string const& prefix, std::string const& name)
{
    auto bus = make_bus_config(prefix);
    bus.batch_size = 20;
    // Recovery only retries our own failed entries here; it must not race the read loop over a
    // batch still being handled (docs/redis-bus.md, "Partitioned mode").
    bus.pending_idle_time = 2s;
    bus.recovery_interval = 200ms;
    redis::partitioned_bus_config c;
    c.redis_url = bus.redis_url;
    c.connection = bus.connection;
    c.stream_prefix = prefix;
    c.consumer_group = "group-" + prefix;
    c.consumer_name = name;
    c.partitions = 8;
    c.lease_ttl = 500ms;
    c.rebalance_interval = 100ms;
    c.bus = bus;
    return c;
}

/// What each consumer handled, per aggregate, in handling order.
struct recorder {
    std::mutex mutex;
    std::map<std::string, std::map<std::string, std::vector<int>>> by_consumer;  // consumer -> stream -> n
    std::set<std::pair<std::string, int>> distinct;
    std::size_t total = 0;
    std::mt19937 rng{42};
    int max_sleep_ms = 3;

    std::size_t distinct_count()
    {
        std::lock_guard lock(mutex);
        return distinct.size();
    }
    std::size_t handled_by(std::string const& consumer)
    {
        std::lock_guard lock(mutex);
        std::size_t n = 0;
        for (auto const& [s, v] : by_consumer[consumer])
            n += v.size();
        return n;
    }
    event_handler handler(std::string consumer)
    {
        return [this, consumer](event_envelope const& e) -> awaitable<void> {
            int sleep_ms = 0;
            {
                std::lock_guard lock(mutex);
                sleep_ms = static_cast<int>(rng() % static_cast<unsigned>(max_sleep_ms + 1));
            }
            co_await sleep_for(std::chrono::milliseconds(sleep_ms));
            std::lock_guard lock(mutex);
            by_consumer[consumer][e.stream_id].push_back(e.payload.at("n").to_number<int>());
            distinct.emplace(e.stream_id, e.payload.at("n").to_number<int>());
            ++total;
        };
    }
};

std::string aggregate_name(std::string const& prefix, int a)
{
    return prefix + "-agg-" + std::to_string(a);
}

/// Publishes `events` events for each of `aggregates` aggregates, interleaved, in batches of 10.
awaitable<void> publish_interleaved(redis::partitioned_bus& bus, std::string const& prefix, int aggregates, int events)
{
    std::vector<event_envelope> batch;
    for (int n = 0; n < events; ++n) {
        for (int a = 0; a < aggregates; ++a) {
            batch.push_back(test_envelope("Tick", n, aggregate_name(prefix, a)));
            if (batch.size() == 10) {
                co_await bus.publish(batch);
                batch.clear();
            }
        }
    }
    if (!batch.empty())
        co_await bus.publish(batch);
}

bool strictly_increasing(std::vector<int> const& v)
{
    for (std::size_t i = 1; i < v.size(); ++i)
        if (v[i] <= v[i - 1])
            return false;
    return true;
}

TEST(partitioned_bus, two_consumers_share_partitions_exactly_once_in_aggregate_order)
{
    run_coro(
        []() -> awaitable<void> {
            auto ex = co_await asio::this_coro::executor;
            auto prefix = unique_name("pbus");
            // Leases long enough that a loaded CI machine never loses one by a late renewal here:
            // a handover mid-test could legitimately repeat an unacked entry.
            auto ca = make_partitioned_config(prefix, "a");
            auto cb = make_partitioned_config(prefix, "b");
            ca.lease_ttl = cb.lease_ttl = 3s;
            ca.rebalance_interval = cb.rebalance_interval = 100ms;
            redis::partitioned_bus a(ex, ca);
            redis::partitioned_bus b(ex, cb);
            recorder rec;
            a.subscribe_all(rec.handler("a"));
            b.subscribe_all(rec.handler("b"));
            co_await a.start();
            co_await b.start();
            auto balanced = [&] { return a.owned_partitions().size() == 4 && b.owned_partitions().size() == 4; };
            EXPECT_TRUE(co_await eventually(balanced, 10s));
            auto pa = a.owned_partitions();
            auto pb = b.owned_partitions();
            std::set<std::uint32_t> all(pa.begin(), pa.end());
            all.insert(pb.begin(), pb.end());
            EXPECT_EQ(all.size(), 8u) << "each partition owned by exactly one consumer";

            int const aggregates = 24;
            int const events = 15;
            co_await publish_interleaved(a, prefix, aggregates, events);
            auto const expected = static_cast<std::size_t>(aggregates * events);
            auto all_delivered = [&] { return rec.distinct_count() == expected; };
            EXPECT_TRUE(co_await eventually(all_delivered, 20s));
            co_await sleep_for(200ms);  // a duplicate would show up by now

            {
            std::lock_guard lock(rec.mutex);
            EXPECT_EQ(rec.total, expected) << "every event delivered exactly once";
            for (int ag = 0; ag < aggregates; ++ag) {
                auto name = aggregate_name(prefix, ag);
                auto const& va = rec.by_consumer["a"][name];
                auto const& vb = rec.by_consumer["b"][name];
                EXPECT_TRUE(va.empty() || vb.empty()) << name << " handled by both consumers";
                auto const& seq = va.empty() ? vb : va;
                std::vector<int> want;
                for (int n = 0; n < events; ++n)
                    want.push_back(n);
                EXPECT_EQ(seq, want) << name;
                auto owner = va.empty() ? pb : pa;
                EXPECT_NE(std::find(owner.begin(), owner.end(), a.partition_of(name)), owner.end()) << name;
            }
            }
            EXPECT_GT(rec.handled_by("a"), 0u);
            EXPECT_GT(rec.handled_by("b"), 0u);
            co_await a.shutdown(2s);
            co_await b.shutdown(2s);
            auto st = a.detailed_stats();
            EXPECT_EQ(st.owned, 0u);
            EXPECT_GT(st.leases_acquired, 0u);
        },
        60s);
}

TEST(partitioned_bus, dead_consumers_partitions_are_taken_over_with_their_pending_entries_in_order)
{
    run_coro(
        []() -> awaitable<void> {
            auto ex = co_await asio::this_coro::executor;
            auto prefix = unique_name("pbus");
            auto dead = std::make_unique<redis::partitioned_bus>(ex, make_partitioned_config(prefix, "dead"));
            redis::partitioned_bus heir(ex, make_partitioned_config(prefix, "heir"));
            recorder rec;
            rec.max_sleep_ms = 4;
            dead->subscribe_all(rec.handler("dead"));
            heir.subscribe_all(rec.handler("heir"));
            // Everything is in the streams before the first consumer starts, so that it is in the
            // middle of full batches when it dies: read, unacked entries stay in its PEL.
            int const aggregates = 16;
            int const events = 25;
            co_await publish_interleaved(heir, prefix, aggregates, events);
            co_await dead->start();
            auto owns_all = [&] { return dead->owned_partitions().size() == 8; };
            EXPECT_TRUE(co_await eventually(owns_all, 10s));
            auto some_done = [&] { return rec.handled_by("dead") >= 60; };
            EXPECT_TRUE(co_await eventually(some_done, 10s));
            dead->abandon();  // a crash: leases and heartbeat stay until they expire
            auto at_death = rec.handled_by("dead");
            auto started = std::chrono::steady_clock::now();
            co_await heir.start();

            auto const expected = static_cast<std::size_t>(aggregates * events);
            auto all_delivered = [&] { return rec.distinct_count() == expected; };
            EXPECT_TRUE(co_await eventually(all_delivered, 20s));
            auto owns_all_now = [&] { return heir.owned_partitions().size() == 8; };
            EXPECT_TRUE(co_await eventually(owns_all_now, 5s));
            // Not before the dead consumer's leases expired.
            EXPECT_GE(std::chrono::steady_clock::now() - started, 300ms);
            EXPECT_LT(at_death, expected);
            auto st = heir.detailed_stats();
            EXPECT_GT(st.takeover_claimed, 0u) << "the dead consumer's pending entries were re-processed";
            EXPECT_EQ(st.leases_acquired, 8u);

            {
                std::lock_guard lock(rec.mutex);
                for (int ag = 0; ag < aggregates; ++ag) {
                    auto name = aggregate_name(prefix, ag);
                    auto const& vd = rec.by_consumer["dead"][name];
                    auto const& vh = rec.by_consumer["heir"][name];
                    EXPECT_TRUE(strictly_increasing(vd)) << name;
                    EXPECT_TRUE(strictly_increasing(vh)) << name;
                    // The heir goes on where the dead consumer stopped (at most repeating what
                    // it handled but could not ack), and nothing is missing.
                    int next = vd.empty() ? 0 : vd.back() + 1;
                    if (!vh.empty()) {
                        EXPECT_LE(vh.front(), next) << name << ": a gap at the takeover";
                        EXPECT_EQ(vh.back(), events - 1) << name;
                        EXPECT_EQ(static_cast<int>(vh.size()), events - vh.front()) << name;
                    } else {
                        EXPECT_EQ(next, events) << name;
                    }
                }
            }
            co_await heir.shutdown(2s);
            dead.reset();
        },
        60s);
}

TEST(partitioned_bus, publish_routes_each_stream_id_to_one_partition_in_order)
{
    EXPECT_EQ(redis::partitioned_bus::partition_of("", 8), 14695981039346656037ull % 8);  // FNV-1a basis
    EXPECT_EQ(redis::partitioned_bus::partition_of("a", 1000), 0xaf63dc4c8601ec8cull % 1000);
    run_coro([]() -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto prefix = unique_name("pbus");
        auto cfg = make_partitioned_config(prefix, "publisher");
        cfg.consume = false;
        redis::partitioned_bus bus(ex, cfg);
        redis::partitioned_bus other(ex, cfg);  // another process computes the same partitions
        int const aggregates = 12;
        int const events = 5;
        co_await publish_interleaved(bus, prefix, aggregates, events);
        std::map<std::string, std::uint32_t> seen_in;
        for (std::uint32_t p = 0; p < 8; ++p) {
            EXPECT_EQ(bus.partition_stream_name(p), prefix + ":partition:" + std::to_string(p) + ":stream");
            auto history = co_await bus.partition_bus(p).event_history(1000);
            std::map<std::string, int> next;
            for (auto const& stored : history) {
                auto const& id = stored.event.stream_id;
                EXPECT_EQ(bus.partition_of(id), p) << id;
                EXPECT_EQ(other.partition_of(id), p) << id;
                EXPECT_TRUE(!seen_in.contains(id) || seen_in[id] == p) << id << " in two partitions";
                seen_in[id] = p;
                EXPECT_EQ(stored.event.payload.at("n").to_number<int>(), next[id]++) << id << " out of order";
            }
        }
        EXPECT_EQ(seen_in.size(), static_cast<std::size_t>(aggregates));
        EXPECT_EQ(bus.detailed_stats().published, static_cast<std::uint64_t>(aggregates * events));
        co_await bus.shutdown(1s);
        co_await other.shutdown(1s);
    });
}

}  // namespace
}  // namespace es::test
