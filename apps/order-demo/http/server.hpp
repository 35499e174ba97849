#pragma once
// The HTTP/1.1 server: an accept loop and one coroutine per connection (Boost.Beast).
#include <es/asio.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <functional>
#include <memory>

namespace orders::http {

using request = boost::beast::http::request<boost::beast::http::string_body>;
using response = boost::beast::http::response<boost::beast::http::string_body>;
using handler = std::function<es::awaitable<response>(request&)>;

/// Accepts connections on `acceptor` until it is closed; each connection is served on its own
/// strand. Bodies over 1 MiB are refused with 413; idle connections close after 30 s.
es::awaitable<void> serve(boost::asio::ip::tcp::acceptor& acceptor, handler h);

}  // namespace orders::http
