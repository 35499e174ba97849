#pragma once
// Boost 1.81 has no asio::cancel_after: race the operation against a timer instead.
#include <es/asio.hpp>
#include <es/error.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace es {
namespace detail {
[[noreturn]] void throw_timed_out(std::string_view what, std::chrono::steady_clock::duration limit);
}

/// Completes with op's result, or throws es::error(timed_out) naming `what` when `limit` passes
/// first; op is then cancelled. A blocking call inside op (libpqxx) is not interrupted: pair this
/// with a server-side timeout.
template <class T>
awaitable<T> with_timeout(awaitable<T> op, std::chrono::steady_clock::duration limit, std::string_view what)
{
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(co_await asio::this_coro::executor, limit);
    auto winner = co_await (std::move(op) || timer.async_wait(asio::use_awaitable));
    if (winner.index() == 1)
        detail::throw_timed_out(what, limit);
    co_return std::get<0>(std::move(winner));
}

inline awaitable<void> with_timeout(awaitable<void> op, std::chrono::steady_clock::duration limit,
                                    std::string_view what)
{
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(co_await asio::this_coro::executor, limit);
    auto winner = co_await (std::move(op) || timer.async_wait(asio::use_awaitable));
    if (winner.index() == 1)
        detail::throw_timed_out(what, limit);
}

}  // namespace es
