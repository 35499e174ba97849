#include "server.hpp"

#include <es/log.hpp>
#include <es/task_group.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <map>
#include <mutex>
#include <vector>

namespace orders::http {

namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {
constexpr std::size_t body_limit = 1 << 20;
constexpr auto idle_timeout = std::chrono::seconds(30);

response plain_error(unsigned status, std::string text, unsigned version)
{
    response res{static_cast<beast::http::status>(status), version};
    res.set(beast::http::field::content_type, "application/json");
    res.body() = R"({"error":")" + text + R"("})";
    res.prepare_payload();
    return res;
}
}  // namespace

struct server::state : std::enable_shared_from_this<state> {
    // One accepted connection. Everything in it is touched on its strand only (the session runs
    // there, and shutdown() posts there).
    struct connection {
        explicit connection(asio::ip::tcp::socket socket) : stream(std::move(socket)) {}
        beast::tcp_stream stream;
        bool idle = false;  // between requests, waiting for the next one's first byte: closed at shutdown
    };

    state(asio::any_io_executor e, handler handle)
        : ex(std::move(e)), acceptor_strand(asio::make_strand(ex)), acceptor(acceptor_strand), h(std::move(handle))
    {
    }

    asio::any_io_executor ex;
    asio::strand<asio::any_io_executor> acceptor_strand;
    asio::ip::tcp::acceptor acceptor;  // used on acceptor_strand once start() ran
    handler h;
    es::task_group accepting;
    es::task_group sessions;
    // Set once by shutdown(), before it wakes anything, so a session that checks it on its
    // strand either sees it or is still waiting when the wake-up arrives.
    std::atomic<bool> draining{false};
    std::mutex mutex;  // guards connections
    std::map<std::uint64_t, std::shared_ptr<connection>> connections;
    std::uint64_t next_id = 0;
    std::shared_ptr<spdlog::logger> log = es::logger("order-demo");

    // Runs `fn(connection&)` on each open connection's strand.
    template <class Fn>
    void for_each_connection(Fn fn)
    {
        std::vector<std::shared_ptr<connection>> open;
        {
            std::lock_guard lock(mutex);
            for (auto const& [id, c] : connections)
                open.push_back(c);
        }
        for (auto& c : open)
            asio::post(c->stream.get_executor(), [c, fn] { fn(*c); });
    }

    es::awaitable<void> accept_loop()
    {
        auto self = shared_from_this();
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(ex), es::use_nothrow);
            if (ec == asio::error::operation_aborted || !acceptor.is_open())
                co_return;
            if (ec) {
                log->warn("accept failed: {}", ec.message());
                continue;
            }
            auto c = std::make_shared<connection>(std::move(socket));
            std::uint64_t id = 0;
            {
                std::lock_guard lock(mutex);
                id = next_id++;
                connections.emplace(id, c);
            }
            auto strand = c->stream.get_executor();
            sessions.spawn(strand, session(self, c, id), "HTTP connection");
        }
    }

    // Waits for the next request to begin. Returns false when the connection should end: the
    // peer closed it, it stayed idle too long, or the server is draining and the connection is
    // idle. A connection that has not sent its first request yet is not idle: its client sent
    // the request before the server stopped accepting, as far as it can tell.
    static es::awaitable<bool> await_request(state& self, connection& c, beast::flat_buffer& buffer, bool first)
    {
        if (buffer.size() > 0)
            co_return true;  // a pipelined request is already here
        boost::system::error_code ignored;
        // Bytes in the socket are a request that has begun: it is finished even when draining.
        if (c.stream.socket().available(ignored) > 0)
            co_return true;
        if (self.draining && !first)
            co_return false;
        c.idle = !first;
        c.stream.expires_after(idle_timeout);
        auto [ec, n] = co_await c.stream.async_read_some(buffer.prepare(4096), es::use_nothrow);
        c.idle = false;
        if (ec)
            co_return false;
        buffer.commit(n);
        co_return true;
    }

    static es::awaitable<void> session(std::shared_ptr<state> self, std::shared_ptr<connection> c, std::uint64_t id)
    {
        auto& stream = c->stream;
        beast::flat_buffer buffer;
        for (bool first = true;; first = false) {
            bool const more = co_await await_request(*self, *c, buffer, first);
            if (!more)
                break;
            beast::http::request_parser<beast::http::string_body> parser;
            parser.body_limit(body_limit);
            stream.expires_after(idle_timeout);
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
                res = co_await self->h(req);
            }
            // A draining server answers the request in progress, then closes: the client then
            // knows to send its next request elsewhere.
            keep_alive = keep_alive && !self->draining;
            res.keep_alive(keep_alive);
            stream.expires_after(idle_timeout);
            auto [wec, wn] = co_await beast::http::async_write(stream, res, es::use_nothrow);
            (void)wn;
            if (wec || !keep_alive)
                break;
        }
        beast::error_code ignored;
        stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
        stream.socket().close(ignored);
        std::lock_guard lock(self->mutex);
        self->connections.erase(id);
    }
};

server::server(asio::any_io_executor ex, handler h) : state_(std::make_shared<state>(std::move(ex), std::move(h))) {}

server::~server() = default;

unsigned short server::listen(std::string const& host, unsigned short port)
{
    asio::ip::tcp::endpoint endpoint(asio::ip::make_address(host), port);
    auto& acceptor = state_->acceptor;
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen();
    return acceptor.local_endpoint().port();
}

void server::start()
{
    state_->accepting.spawn(state_->acceptor_strand, state_->accept_loop(), "HTTP accept loop");
}

es::awaitable<drain_result> server::shutdown(std::chrono::milliseconds drain)
{
    auto s = state_;
    s->draining = true;
    // The acceptor belongs to its strand: close it there, which ends the accept loop.
    asio::post(s->acceptor_strand, [s] {
        boost::system::error_code ignored;
        s->acceptor.close(ignored);
    });
    co_await s->accepting.join();
    drain_result result;
    result.drained = s->sessions.running();
    // Connections between requests hold no work: close them now instead of after the idle timeout.
    s->for_each_connection([](state::connection& c) {
        if (c.idle)
            c.stream.cancel();
    });
    bool const drained = co_await s->sessions.join_for(drain);
    if (!drained) {
        result.cut = s->sessions.running();
        result.drained -= std::min(result.drained, result.cut);
        s->log->warn("HTTP: {} connection(s) still busy after {} ms: closing them", result.cut, drain.count());
        // Closing the socket ends a read or write in progress; cancelling the session ends a
        // handler waiting on the store or the bus.
        s->for_each_connection([](state::connection& c) {
            boost::system::error_code ignored;
            c.stream.socket().close(ignored);
        });
        s->sessions.cancel();
        co_await s->sessions.join();
    }
    co_return result;
}

}  // namespace orders::http
