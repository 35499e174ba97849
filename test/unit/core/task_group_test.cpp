// es::task_group: join waits for every task (no polling), cancel reaches tasks through their
// cancellation slots, failures are kept, join_for is bounded, several threads.
#include "support/run_coro.hpp"

#include <es/task_group.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>

namespace {
using namespace std::chrono_literals;

es::awaitable<void> sleep_then_count(std::chrono::milliseconds d, std::atomic<int>& ended)
{
    co_await es::test::sleep_for(d);
    ++ended;
}

// Waits "forever"; ends only when cancelled.
es::awaitable<void> wait_until_cancelled(std::atomic<int>& cancelled)
{
    es::asio::steady_timer t(co_await es::asio::this_coro::executor, 1h);
    auto [ec] = co_await t.async_wait(es::use_nothrow);
    if (ec == es::asio::error::operation_aborted)
        ++cancelled;
}

es::awaitable<void> fail_after(std::chrono::milliseconds d)
{
    co_await es::test::sleep_for(d);
    throw std::runtime_error("task failed on purpose");
}

TEST(TaskGroup, JoinOnAnEmptyGroupCompletesAtOnce)
{
    es::test::run_coro([]() -> es::awaitable<void> {
        es::task_group g;
        co_await g.join();
        EXPECT_EQ(g.running(), 0u);
    });
}

TEST(TaskGroup, JoinReturnsWhenTheLastTaskEnds)
{
    es::test::run_coro([]() -> es::awaitable<void> {
        std::atomic<int> ended{0};
        es::task_group g;
        auto ex = co_await es::asio::this_coro::executor;
        g.spawn(ex, sleep_then_count(10ms, ended), "short");
        g.spawn(ex, sleep_then_count(60ms, ended), "long");
        EXPECT_EQ(g.running(), 2u);
        auto t0 = std::chrono::steady_clock::now();
        co_await g.join();
        EXPECT_EQ(ended.load(), 2);
        EXPECT_GE(std::chrono::steady_clock::now() - t0, 50ms);
        EXPECT_EQ(g.running(), 0u);
    });
}

TEST(TaskGroup, CancelReachesEveryTaskThroughItsSlot)
{
    es::test::run_coro([]() -> es::awaitable<void> {
        std::atomic<int> cancelled{0};
        es::task_group g;
        auto ex = co_await es::asio::this_coro::executor;
        for (int i = 0; i < 5; ++i)
            g.spawn(es::asio::make_strand(ex), wait_until_cancelled(cancelled), "waiter");
        co_await es::test::sleep_for(5ms);
        g.cancel();
        bool joined = co_await g.join_for(5s);
        EXPECT_TRUE(joined);
        EXPECT_EQ(cancelled.load(), 5);
    }, 10s, 2);
}

TEST(TaskGroup, JoinForIsBoundedAndLeavesTheTasksRunning)
{
    es::test::run_coro([]() -> es::awaitable<void> {
        std::atomic<int> cancelled{0};
        es::task_group g;
        g.spawn(co_await es::asio::this_coro::executor, wait_until_cancelled(cancelled), "waiter");
        auto t0 = std::chrono::steady_clock::now();
        bool joined = co_await g.join_for(30ms);
        EXPECT_FALSE(joined);
        EXPECT_GE(std::chrono::steady_clock::now() - t0, 25ms);
        EXPECT_EQ(g.running(), 1u);
        g.cancel();
        co_await g.join();
        EXPECT_EQ(cancelled.load(), 1);
    });
}

TEST(TaskGroup, KeepsTheFirstFailure)
{
    es::test::run_coro([]() -> es::awaitable<void> {
        es::task_group g;
        g.spawn(co_await es::asio::this_coro::executor, fail_after(1ms), "failing");
        co_await g.join();
        EXPECT_TRUE(g.first_failure() != nullptr);
        if (g.first_failure()) try {
            std::rethrow_exception(g.first_failure());
        } catch (std::runtime_error const& e) {
            EXPECT_STREQ(e.what(), "task failed on purpose");
        }
    });
}

TEST(TaskGroup, ManyTasksOnTwoThreads)
{
    es::test::run_coro([]() -> es::awaitable<void> {
        std::atomic<int> ended{0};
        es::task_group g;
        auto ex = co_await es::asio::this_coro::executor;
        for (int i = 0; i < 200; ++i)
            g.spawn(es::asio::make_strand(ex), sleep_then_count(std::chrono::milliseconds(i % 7), ended), "t");
        co_await g.join();
        EXPECT_EQ(ended.load(), 200);
    }, 10s, 2);
}

}  // namespace
