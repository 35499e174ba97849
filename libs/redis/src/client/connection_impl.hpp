#pragma once
// Private: the connection's state and coroutines (connection.cpp has the public API, connection_io.cpp
// the connect, read, write and health-check coroutines and the reconnect loop).
#include "resp_reader.hpp"

#include <es/log.hpp>
#include <es/redis/client/connection.hpp>
#include <es/task_group.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <functional>
#include <optional>
#include <random>

namespace es::redis {
namespace detail {

using boost::system::error_code;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;

// The waiting exec() caller, type-erased. The result travels in the completion, so the caller's
// frame does not own the pending request: pending -> handler -> frame -> pending would be a
// cycle, destroyed re-entrantly when an io_context is torn down with requests in flight. (asio::any_completion_handler in Boost 1.81 re-wraps
// itself when copied by an executor's execute(), recursing until the stack overflows.)
struct completion_base {
    virtual ~completion_base() = default;
    /// Resumes the caller on its own executor, never inline.
    virtual void post(error_code ec, std::string text, response replies) = 0;
};

template <class Handler>
struct completion final : completion_base {
    explicit completion(Handler h) : handler(std::move(h)) {}
    void post(error_code ec, std::string text, response replies) override
    {
        asio::post(asio::append(std::move(handler), ec, std::move(text), std::move(replies)));
    }
    Handler handler;
};

template <class Handler>
std::unique_ptr<completion_base> make_completion(Handler h)
{
    return std::make_unique<completion<Handler>>(std::move(h));
}

struct pending {
    std::string payload;
    std::size_t expected = 0;
    std::size_t received = 0;
    std::string summary;
    bool idempotent = false;
    bool internal = false;
    bool written = false;
    bool done = false;
    clock::time_point deadline = clock::time_point::max();
    std::chrono::milliseconds timeout{0};
    response replies;
    error_code ec;
    std::string error_text;
    std::unique_ptr<completion_base> handler;
};
using pending_ptr = std::shared_ptr<pending>;

class connection_impl : public std::enable_shared_from_this<connection_impl> {
public:
    connection_impl(asio::any_io_executor ex, config cfg)
        : strand_(asio::make_strand(ex))
        , cfg_(std::move(cfg))
        , log_(es::logger("es.redis"))
        , reader_(cfg_.max_reply_size)
        , writer_wakeup_(strand_)
        , readbuf_(64 * 1024)
    {
    }

    asio::strand<asio::any_io_executor> strand_;
    config cfg_;
    std::shared_ptr<spdlog::logger> log_;

    // ---- state touched only on strand_ ----
    std::deque<pending_ptr> waiting_;
    std::deque<pending_ptr> written_;
    resp_reader reader_;
    asio::steady_timer writer_wakeup_;
    std::vector<char> readbuf_;
    std::string staging_;
    std::optional<tcp::socket> socket_;
    std::optional<asio::ssl::context> ssl_ctx_;
    std::optional<asio::ssl::stream<tcp::socket&>> tls_;
    bool sweeper_running_ = false;
    // Owner of the request sweeper and the health-check PING watchers: run() awaits their end
    // after its loop stops.
    task_group sweepers_;
    // wait_ready() callers: woken by the next successful connection or failed attempt.
    std::vector<std::function<void(error_code, std::string)>> ready_waiters_;
    // Last time bytes moved in either direction; the health check fails only when a PING is
    // unanswered and nothing moved for a whole interval (a 64 MiB write or a long backlog of
    // replies is progress, not a dead peer).
    clock::time_point last_activity_ = clock::now();
    bool running_ = false;
    std::string last_error_ = "not connected yet";
    // cancel() stops run_loop by closing the socket and cancelling these: whatever it awaits
    // then fails, and it sees cancelled_.
    std::optional<tcp::resolver> resolver_;
    std::optional<asio::steady_timer> backoff_timer_;
    std::minstd_rand rng_{std::random_device{}()};

    // ---- shared ----
    std::atomic<bool> connected_{false};
    std::atomic<bool> cancelled_{false};
    std::atomic<std::uint64_t> connects_{0}, losses_{0}, commands_{0}, writes_{0}, resent_{0}, timeouts_{0};

    std::string where() const { return "redis " + cfg_.endpoint(); }

    // ---- completion --------------------------------------------------------------------------

    // On strand_. Completes the caller of exec() once; later calls are no-ops.
    void complete(pending_ptr const& p, error_code ec, std::string text)
    {
        if (p->done)
            return;
        p->done = true;
        p->ec = ec;
        p->error_text = text;
        if (!p->handler)
            return;
        auto h = std::move(p->handler);
        h->post(ec, std::move(text), std::move(p->replies));
    }

    void start(pending_ptr p)
    {
        if (cancelled_) {
            complete(p, asio::error::operation_aborted, where() + " " + p->summary + ": the connection was cancelled");
            return;
        }
        if (p->expected == 0) {
            complete(p, {}, {});
            return;
        }
        if (p->timeout.count() > 0)
            p->deadline = clock::now() + p->timeout;
        waiting_.push_back(std::move(p));
        writer_wakeup_.cancel();
        if (!sweeper_running_ && cfg_.command_timeout.count() >= 0) {
            sweeper_running_ = true;
            // Ends by itself once no request is queued (cancel() fails them all): no signal needed.
            sweepers_.spawn(strand_, sweeper(shared_from_this()), where() + " request timeouts", [] {});
        }
    }

    // Caller cancellation (e.g. `||` with a timer): completes now; a written request keeps its
    // place in written_ so the FIFO stays aligned.
    void abandon(pending_ptr const& p)
    {
        if (p->done)
            return;
        complete(p, asio::error::operation_aborted, where() + " " + p->summary + ": cancelled by the caller");
        if (!p->written)
            std::erase(waiting_, p);
    }

    static awaitable<void> sweeper(std::shared_ptr<connection_impl> self)
    {
        auto tick = std::clamp(self->cfg_.command_timeout / 20, std::chrono::milliseconds(2), std::chrono::milliseconds(50));
        asio::steady_timer timer(self->strand_);
        while (!self->waiting_.empty() || !self->written_.empty()) {
            timer.expires_after(tick);
            co_await timer.async_wait(use_nothrow);
            auto now = clock::now();
            auto expire = [&](pending_ptr const& p) {
                if (p->done || p->deadline > now)
                    return;
                ++self->timeouts_;
                std::string state = p->written ? "no reply" : (self->connected_ ? "not written yet" : "not connected: " + self->last_error_);
                self->complete(p, make_error_code(errc::command_timeout),
                               self->where() + " " + p->summary + ": no reply within " +
                                   std::to_string(p->timeout.count()) + " ms (" + state + ")");
            };
            for (auto const& p : self->written_)
                expire(p);
            for (auto const& p : self->waiting_)
                expire(p);
            std::erase_if(self->waiting_, [](pending_ptr const& p) { return p->done; });
        }
        self->sweeper_running_ = false;
    }

    // ---- transport ----------------------------------------------------------------------------

    awaitable<std::size_t> read_some()
    {
        if (tls_)
            co_return co_await tls_->async_read_some(asio::buffer(readbuf_), asio::use_awaitable);
        co_return co_await socket_->async_read_some(asio::buffer(readbuf_), asio::use_awaitable);
    }

    template <class Buffers>
    awaitable<void> write(Buffers const& b)
    {
        if (tls_)
            co_await asio::async_write(*tls_, b, asio::use_awaitable);
        else
            co_await asio::async_write(*socket_, b, asio::use_awaitable);
    }

    void close_transport()
    {
        tls_.reset();
        if (socket_) {
            error_code ignored;
            socket_->shutdown(tcp::socket::shutdown_both, ignored);
            socket_->close(ignored);
            socket_.reset();
        }
        reader_.reset();
    }

    // ---- connecting ---------------------------------------------------------------------------

    // do_cancel() may run at any co_await of run_loop; after each one, stop if it did.
    void check_cancelled() const
    {
        if (cancelled_)
            throw boost::system::system_error(asio::error::operation_aborted);
    }

    awaitable<reply> read_setup_reply()
    {
        for (;;) {
            if (auto r = reader_.next())
                co_return std::move(*r);
            auto n = co_await read_some();
            reader_.feed(readbuf_.data(), n);
        }
    }

    awaitable<void> connect_phase();

    awaitable<void> connect_with_timeout();

    // Runs the connection's three coroutines until the first of them ends, for whatever reason,
    // then cancels the other two and rethrows what ended it.
    awaitable<void> serve();

    // ---- connected: writer, reader, health check ---------------------------------------------

    awaitable<void> writer();

    void deliver(reply r)
    {
        if (written_.empty())
            throw es::error(make_error_code(errc::protocol_error),
                            where() + ": received a reply (" + r.describe() + ") no request was waiting for");
        auto const& p = written_.front();
        ++p->received;
        if (!p->done)
            p->replies.push_back(std::move(r));
        if (p->received == p->expected) {
            auto done = std::move(written_.front());
            written_.pop_front();
            complete(done, {}, {});
        }
    }

    awaitable<void> reader();

    awaitable<void> health_check();

    template <class Initiation>
    static awaitable<void> wait_ping(Initiation initiation)
    {
        auto result = co_await asio::async_initiate<decltype(use_nothrow), void(error_code, std::string, response)>(
            std::move(initiation), use_nothrow);
        (void)result;
    }

    // On strand_, after a connection ended: requests whose bytes went out are failed unless
    // idempotent, in which case they go back to the front of the queue, in their order.
    void on_connection_lost(std::string const& reason)
    {
        for (auto it = written_.rbegin(); it != written_.rend(); ++it) {
            auto& p = *it;
            if (p->done)
                continue;
            if (p->idempotent && !cancelled_) {
                waiting_.push_front(p);
            } else {
                complete(p, make_error_code(errc::connection_lost),
                         where() + " " + p->summary + ": the connection was lost before the reply arrived (" + reason +
                             "); the command may or may not have run");
            }
        }
        written_.clear();
    }

    void abort_all()
    {
        auto fail = [&](std::deque<pending_ptr>& q) {
            for (auto const& p : q)
                complete(p, asio::error::operation_aborted, where() + " " + p->summary + ": the connection was cancelled");
            q.clear();
        };
        fail(written_);
        fail(waiting_);
    }

    // On strand_.
    void wake_ready(error_code ec, std::string const& text)
    {
        auto waiters = std::move(ready_waiters_);
        ready_waiters_.clear();
        for (auto& h : waiters)
            h(ec, text);
    }

    void fail_waiting(errc code, std::string const& reason)
    {
        for (auto const& p : waiting_)
            complete(p, make_error_code(code), where() + " " + p->summary + ": " + reason);
        waiting_.clear();
    }

    awaitable<void> run_loop();

    // On strand_.
    void do_cancel()
    {
        cancelled_ = true;
        connected_ = false;
        if (resolver_)
            resolver_->cancel();
        if (backoff_timer_)
            backoff_timer_->cancel();
        close_transport();
        writer_wakeup_.cancel();
        abort_all();
        wake_ready(asio::error::operation_aborted, where() + ": the connection was cancelled");
    }
};

}  // namespace detail
}  // namespace es::redis
