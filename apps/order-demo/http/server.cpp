#include "server.hpp"

#include <es/log.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

#include <chrono>

namespace orders::http {

namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {
constexpr std::size_t body_limit = 1 << 20;

response plain_error(unsigned status, std::string text, unsigned version)
{
    response res{static_cast<beast::http::status>(status), version};
    res.set(beast::http::field::content_type, "application/json");
    res.body() = R"({"error":")" + text + R"("})";
    res.prepare_payload();
    return res;
}

es::awaitable<void> session(beast::tcp_stream stream, handler h)
{
    beast::flat_buffer buffer;
    for (;;) {
        beast::http::request_parser<beast::http::string_body> parser;
        parser.body_limit(body_limit);
        stream.expires_after(std::chrono::seconds(30));
        auto [ec, n] = co_await beast::http::async_read(stream, buffer, parser, es::use_nothrow);
        (void)n;
        if (ec == beast::http::error::end_of_stream || ec == asio::error::operation_aborted ||
            ec == beast::error::timeout || ec == asio::error::connection_reset || ec == asio::error::eof)
            break;
        response res;
        bool keep_alive = false;
        if (ec == beast::http::error::body_limit) {
            res = plain_error(413, "request body is larger than 1 MiB", 11);
        } else if (ec) {
            res = plain_error(400, "malformed HTTP request", 11);
        } else {
            auto req = parser.release();
            keep_alive = req.keep_alive();
            res = co_await h(req);
        }
        res.keep_alive(keep_alive);
        stream.expires_after(std::chrono::seconds(30));
        auto [wec, wn] = co_await beast::http::async_write(stream, res, es::use_nothrow);
        (void)wn;
        if (wec || !keep_alive)
            break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}
}  // namespace

es::awaitable<void> serve(asio::ip::tcp::acceptor& acceptor, handler h)
{
    auto log = es::logger("order-demo");
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(acceptor.get_executor()), es::use_nothrow);
        if (ec == asio::error::operation_aborted || !acceptor.is_open())
            co_return;
        if (ec) {
            log->warn("accept failed: {}", ec.message());
            continue;
        }
        auto ex = socket.get_executor();
        asio::co_spawn(ex, session(beast::tcp_stream(std::move(socket)), h), [log](std::exception_ptr e) {
            if (!e)
                return;
            try {
                std::rethrow_exception(e);
            } catch (std::exception const& ex) {
                log->error("HTTP session ended with an error: {}", ex.what());
            }
        });
    }
}

}  // namespace orders::http
