#pragma once
// Runs coroutine tests. Use EXPECT_* inside the coroutine: ASSERT_* expands to `return` and does
// not compile there.
#include <es/asio.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <type_traits>

namespace es::test {

/// Runs fn on a fresh io_context with `threads` threads. A coroutine that throws fails the test
/// with the exception text; one that hangs fails it after `timeout` instead of stalling CI.
void run_coro(std::function<awaitable<void>()> fn, std::chrono::steady_clock::duration timeout = std::chrono::seconds(30),
              int threads = 1);

/// Sleeps without blocking the thread.
awaitable<void> sleep_for(std::chrono::steady_clock::duration d);

/// Polls `condition` every few milliseconds until it holds or `timeout` passes; returns whether
/// it held. For asynchronous buses whose delivery happens after publish() returns.
///
/// The condition must be trivially destructible (capture by reference): it is written inside a
/// co_await expression, where g++ 12 destroys temporaries twice — harmless for references, a
/// double free for a captured shared_ptr or string.
template <class Condition>
awaitable<bool> eventually(Condition condition, std::chrono::steady_clock::duration timeout = std::chrono::seconds(10))
{
    static_assert(std::is_trivially_destructible_v<Condition>,
                  "capture by reference: g++ 12 destroys temporaries in co_await expressions twice");
    auto const deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline)
            co_return false;
        co_await sleep_for(std::chrono::milliseconds(5));
    }
    co_return true;
}

/// "prefix-<random hex>": keeps tests that share a server from seeing each other's data.
std::string unique_name(std::string const& prefix);

}  // namespace es::test
