#pragma once
// The HTTP/1.1 server (Boost.Beast): an accept loop and one coroutine per connection, all owned
// by the server, which awaits their end in shutdown().
#include <es/asio.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace orders::http {

using request = boost::beast::http::request<boost::beast::http::string_body>;
using response = boost::beast::http::response<boost::beast::http::string_body>;
using handler = std::function<es::awaitable<response>(request&)>;

/// What shutdown() found.
struct drain_result {
    std::size_t drained = 0;  ///< connections that ended by themselves (idle ones closed at once)
    std::size_t cut = 0;      ///< connections still busy when the drain time ran out, then closed
};

/// Serves `h` on every connection. Bodies over 1 MiB are refused with 413; idle connections close
/// after 30 s. Each connection runs on its own strand of `ex`, the io_context's executor.
class server {
public:
    server(es::asio::any_io_executor ex, handler h);
    /// Cancels whatever still runs; the owner awaits shutdown() before it lets the server go.
    ~server();
    server(server const&) = delete;
    server& operator=(server const&) = delete;

    /// Binds and listens (throws on failure); returns the bound port (useful with port 0).
    unsigned short listen(std::string const& host, unsigned short port);
    /// Starts accepting connections.
    void start();
    /// Stops accepting, closes connections waiting between requests, lets requests in progress
    /// (one partly received, or being handled or answered) finish for up to `drain` (answered
    /// with "Connection: close"), then closes the connections still busy and cancels their
    /// handlers. Completes when the accept loop and every connection's coroutine have ended.
    es::awaitable<drain_result> shutdown(std::chrono::milliseconds drain);

private:
    struct state;
    std::shared_ptr<state> state_;
};

}  // namespace orders::http
