// es::with_timeout: the result, the operation's own error (at once, not at the deadline), a timeout.
#include "support/run_coro.hpp"

#include <es/with_timeout.hpp>

#include <gtest/gtest.h>

#include <stdexcept>

namespace {
using namespace std::chrono_literals;

es::awaitable<int> value_after(std::chrono::milliseconds d)
{
    co_await es::test::sleep_for(d);
    co_return 42;
}

es::awaitable<int> failure_after(std::chrono::milliseconds d)
{
    co_await es::test::sleep_for(d);
    throw std::runtime_error("the operation failed");
}

es::awaitable<void> void_failure()
{
    co_await es::test::sleep_for(1ms);
    throw std::runtime_error("void operation failed");
}

TEST(WithTimeout, ReturnsTheResult)
{
    es::test::run_coro([]() -> es::awaitable<void> { EXPECT_EQ(co_await es::with_timeout(value_after(1ms), 1s, "op"), 42); });
}

TEST(WithTimeout, ReportsTheOperationsOwnErrorAtOnce)
{
    es::test::run_coro([]() -> es::awaitable<void> {
        auto t0 = std::chrono::steady_clock::now();
        std::string message;
        try {
            co_await es::with_timeout(failure_after(1ms), 5s, "op");
        } catch (std::exception const& e) {
            message = e.what();
        }
        EXPECT_EQ(message, "the operation failed");
        EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
        std::string void_message;
        try {
            co_await es::with_timeout(void_failure(), 5s, "op");
        } catch (std::exception const& e) {
            void_message = e.what();
        }
        EXPECT_EQ(void_message, "void operation failed");
    });
}

TEST(WithTimeout, TimesOut)
{
    es::test::run_coro([]() -> es::awaitable<void> {
        bool timed_out = false;
        try {
            co_await es::with_timeout(value_after(5s), 20ms, "slow op");
        } catch (es::error const& e) {
            timed_out = e.code() == es::errc::timed_out;
        }
        EXPECT_TRUE(timed_out);
    });
}

}  // namespace
