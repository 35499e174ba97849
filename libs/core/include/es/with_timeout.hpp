#pragma once
// Boost 1.81 has no asio::cancel_after: race the operation against a timer instead.
#include <es/asio.hpp>
#include <es/error.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <exception>
#include <string>
#include <string_view>
#include <optional>
#include <variant>

namespace es {
namespace detail {
[[noreturn]] void throw_timed_out(std::string_view what, std::chrono::steady_clock::duration limit);

// awaitable_operators' `||` waits for the first branch that *succeeds*: an operation that throws
// would lose the race only when the timer fires, and its error would be reported as a timeout.
// These wrappers turn the operation's exception into a value, so it wins the race at once.
// A struct, not a variant: `||` would flatten a variant into its own result.
template <class T>
struct outcome {
    std::optional<T> value;
    std::exception_ptr failure;
};

template <class T>
awaitable<outcome<T>> capture_failure(awaitable<T> op)
{
    outcome<T> out;
    try {
        out.value.emplace(co_await std::move(op));
    } catch (...) {
        out.failure = std::current_exception();
    }
    co_return out;
}

inline awaitable<std::exception_ptr> capture_failure(awaitable<void> op)
{
    std::exception_ptr failure;
    try {
        co_await std::move(op);
    } catch (...) {
        failure = std::current_exception();
    }
    co_return failure;
}
}  // namespace detail

/// Completes with op's result or op's exception, or throws es::error(timed_out) naming `what`
/// when `limit` passes first; op is then cancelled. A blocking call inside op (libpqxx) is not interrupted: pair this
/// with a server-side timeout.
template <class T>
awaitable<T> with_timeout(awaitable<T> op, std::chrono::steady_clock::duration limit, std::string_view what)
{
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(co_await asio::this_coro::executor, limit);
    auto winner = co_await (detail::capture_failure(std::move(op)) || timer.async_wait(asio::use_awaitable));
    if (winner.index() == 1)
        detail::throw_timed_out(what, limit);
    auto result = std::get<0>(std::move(winner));
    if (result.failure)
        std::rethrow_exception(result.failure);
    co_return std::move(*result.value);
}

inline awaitable<void> with_timeout(awaitable<void> op, std::chrono::steady_clock::duration limit,
                                    std::string_view what)
{
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(co_await asio::this_coro::executor, limit);
    auto winner = co_await (detail::capture_failure(std::move(op)) || timer.async_wait(asio::use_awaitable));
    if (winner.index() == 1)
        detail::throw_timed_out(what, limit);
    if (auto failure = std::get<0>(winner))
        std::rethrow_exception(failure);
}

}  // namespace es
