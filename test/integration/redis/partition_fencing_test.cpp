// Rule 6 of docs/redis-bus.md: a partition owner that lost its lease stops touching the
// partition. The old owner runs in a process of its own (programs/partition_owner.cpp); the test
// stops it with SIGSTOP past its lease, lets a new owner take over, resumes it with SIGCONT, and
// checks that the old owner starts no handler and acknowledges nothing afterwards, and that the
// aggregate's events were handled in order across the take-over.
#include "bus_test_support.hpp"

#include <es/redis/bus/partitioned_bus.hpp>

#include <boost/asio/this_coro.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <spawn.h>
#include <sys/wait.h>

extern char** environ;

namespace es::test {
namespace {
using namespace std::chrono_literals;

struct child_process {
    pid_t pid = -1;
    ~child_process()
    {
        if (pid > 0) {
            ::kill(pid, SIGCONT);
            ::kill(pid, SIGTERM);
            int status = 0;
            ::waitpid(pid, &status, 0);
        }
    }
};

awaitable<std::vector<std::string>> lrange(redis::connection& c, std::string const& key)
{
    redis::request req;
    req.push("LRANGE", key, "0", "-1");
    auto r = co_await c.call(req);
    std::vector<std::string> out;
    for (auto const& e : r.elements)
        out.push_back(e.str);
    co_return out;
}

std::vector<int> numbers_of(std::vector<std::string> const& records, std::string const& consumer)
{
    std::vector<int> out;
    for (auto const& r : records)
        if (r.rfind(consumer + ":", 0) == 0)
            out.push_back(std::stoi(r.substr(consumer.size() + 1)));
    return out;
}

TEST(RedisPartitionFencing, AnOwnerPausedPastItsLeaseTouchesNothingAfterResuming)
{
    run_coro([]() -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto base = make_bus_config();
        auto const prefix = base.stream_prefix;
        auto const port = std::to_string(base.connection.port);
        child_process old_owner;
        std::string bin = ES_PARTITION_OWNER_BIN;
        std::vector<std::string> args{bin, port, prefix, "old"};
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        EXPECT_EQ(::posix_spawn(&old_owner.pid, bin.c_str(), nullptr, nullptr, argv.data(), environ), 0);

        auto conn = co_await start_connection();
        auto const lease = prefix + ":partition:0:lease:fencing";
        auto const list = prefix + ":handled";
        bool owned = false;
        for (int i = 0; i < 200 && !owned; ++i) {
            redis::request get;
            get.push("GET", lease);
            auto r = co_await conn->call(get);
            owned = r.is_string() && r.str == "old";
            if (!owned)
                co_await sleep_for(25ms);
        }
        EXPECT_TRUE(owned) << "the old owner never took the partition";

        // One aggregate, twenty steps, all published before anyone handles them.
        redis::partitioned_bus_config cfg;
        cfg.redis_url = base.redis_url;
        cfg.connection = base.connection;
        cfg.stream_prefix = prefix;
        cfg.consumer_group = "fencing";
        cfg.consumer_name = "new";
        cfg.partitions = 1;
        cfg.lease_ttl = 600ms;
        cfg.rebalance_interval = 150ms;
        cfg.bus.batch_size = 100;
        cfg.bus.block_time = 100ms;
        cfg.bus.pending_idle_time = 10s;
        cfg.bus.recovery_interval = 0ms;
        auto publisher_cfg = cfg;
        publisher_cfg.consume = false;
        redis::partitioned_bus publisher(ex, publisher_cfg);
        std::vector<event_envelope> steps;
        for (int n = 1; n <= 20; ++n)
            steps.push_back(test_envelope("Step", n, "aggregate-1"));
        co_await publisher.publish(steps);

        std::size_t handled = 0;
        for (int i = 0; i < 200 && handled < 4; ++i) {
            co_await sleep_for(20ms);
            handled = (co_await lrange(*conn, list)).size();
        }
        EXPECT_GE(handled, 4u);
        ::kill(old_owner.pid, SIGSTOP);
        co_await sleep_for(150ms);  // a record on its way lands
        auto before_pause = numbers_of(co_await lrange(*conn, list), "old");

        // The new owner takes over once the old lease expires.
        redis::partitioned_bus fresh(ex, cfg);
        std::vector<int> fresh_seen;
        std::mutex fresh_mutex;
        fresh.subscribe("Step", [&](event_envelope const& e) -> awaitable<void> {
            std::lock_guard lock(fresh_mutex);
            fresh_seen.push_back(e.payload.at("n").to_number<int>());
            co_return;
        });
        co_await fresh.start();
        EXPECT_TRUE(co_await eventually(
            [&] {
                std::lock_guard lock(fresh_mutex);
                return !fresh_seen.empty() && fresh_seen.back() == 20;
            },
            10s));

        ::kill(old_owner.pid, SIGCONT);
        co_await sleep_for(1500ms);  // time for the old owner to do whatever it would do
        auto after_resume = numbers_of(co_await lrange(*conn, list), "old");
        EXPECT_EQ(after_resume, before_pause) << "the old owner started handlers after it lost its lease";

        // Order across the take-over: the new owner starts at the first entry the old one had not
        // acknowledged (no gap; entries the old one handled but had not yet acknowledged are
        // handled again: at least once) and goes on strictly in order.
        std::vector<int> fresh_copy;
        {
            std::lock_guard lock(fresh_mutex);
            fresh_copy = fresh_seen;
        }
        EXPECT_FALSE(fresh_copy.empty());
        for (std::size_t i = 1; i < fresh_copy.size(); ++i)
            EXPECT_EQ(fresh_copy[i], fresh_copy[i - 1] + 1) << "out of order at " << i;
        if (!fresh_copy.empty() && !before_pause.empty()) {
            EXPECT_LE(fresh_copy.front(), before_pause.back() + 1);
        }
        for (std::size_t i = 1; i < before_pause.size(); ++i)
            EXPECT_EQ(before_pause[i], before_pause[i - 1] + 1);

        // Everything is acknowledged by the new owner; nothing of it was undone by the old one.
        auto info = co_await fresh.partition_bus(0).stream_info();
        for (auto const& g : info.groups)
            if (g.name == "fencing") {
                EXPECT_EQ(g.pending, 0u);
            }
        co_await fresh.shutdown(2s);
        co_await publisher.shutdown(1s);
        conn->cancel();
    }, 60s);
}

}  // namespace
}  // namespace es::test
