#include "run_coro.hpp"

#include <es/event.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <exception>
#include <thread>
#include <vector>

namespace es::test {

void run_coro(std::function<awaitable<void>()> fn, std::chrono::steady_clock::duration timeout, int threads)
{
    asio::io_context ioc;
    std::atomic<bool> done{false};
    std::exception_ptr failure;
    asio::co_spawn(ioc, std::move(fn), [&](std::exception_ptr e) {
        failure = e;
        done = true;
        ioc.stop();
    });
    std::vector<std::thread> extra;
    for (int i = 1; i < threads; ++i)
        extra.emplace_back([&] { ioc.run_for(timeout); });
    ioc.run_for(timeout);
    ioc.stop();
    for (auto& t : extra)
        t.join();
    if (!done) {
        ADD_FAILURE() << "coroutine did not finish within "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count() << " ms";
        return;
    }
    if (failure) {
        try {
            std::rethrow_exception(failure);
        } catch (std::exception const& e) {
            ADD_FAILURE() << "coroutine threw: " << e.what();
        } catch (...) {
            ADD_FAILURE() << "coroutine threw a non-standard exception";
        }
    }
}

awaitable<void> sleep_for(std::chrono::steady_clock::duration d)
{
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    co_await timer.async_wait(asio::use_awaitable);
}

std::string unique_name(std::string const& prefix)
{
    auto id = to_string(new_event_id());
    return prefix + "-" + id.substr(0, 8) + id.substr(9, 4);
}

}  // namespace es::test
