#pragma once
// Runs coroutine tests. Use EXPECT_* inside the coroutine: ASSERT_* expands to `return` and does
// not compile there.
#include <es/asio.hpp>

#include <chrono>
#include <functional>
#include <string>

namespace es::test {

/// Runs fn on a fresh io_context with `threads` threads. A coroutine that throws fails the test
/// with the exception text; one that hangs fails it after `timeout` instead of stalling CI.
void run_coro(std::function<awaitable<void>()> fn, std::chrono::steady_clock::duration timeout = std::chrono::seconds(30),
              int threads = 1);

/// Polls `condition` every few milliseconds until it holds or `timeout` passes; returns whether
/// it held. For asynchronous buses whose delivery happens after publish() returns.
awaitable<bool> eventually(std::function<bool()> condition,
                           std::chrono::steady_clock::duration timeout = std::chrono::seconds(10));

/// Sleeps without blocking the thread.
awaitable<void> sleep_for(std::chrono::steady_clock::duration d);

/// "prefix-<random hex>": keeps tests that share a server from seeing each other's data.
std::string unique_name(std::string const& prefix);

}  // namespace es::test
