#pragma once
// The Asio vocabulary used across eventsource-cpp.
//
// Boost 1.81 has no default completion token, so every asynchronous call names one; these
// aliases keep those calls short.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace es {
namespace asio = boost::asio;

template <class T = void>
using awaitable = asio::awaitable<T>;

/// Completion token that returns errors as the first tuple element instead of throwing.
inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
}  // namespace es
