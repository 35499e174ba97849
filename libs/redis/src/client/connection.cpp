// The connection: a FIFO of requests on a strand, one writer coroutine that coalesces waiting
// requests into one socket write (automatic pipelining), one reader coroutine that matches RESP2
// replies to written requests in order, a health check, and a run loop that reconnects.
//
// Request states: waiting (queued, not written) -> written (bytes handed to the socket) -> done.
// A request can become done early (timeout, caller cancellation): it stays in written_ until its
// replies arrive so that later replies still match later requests, and its replies are dropped.
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

    awaitable<void> connect_phase()
    {
        resolver_.emplace(strand_);
        auto endpoints = co_await resolver_->async_resolve(cfg_.host, std::to_string(cfg_.port), asio::use_awaitable);
        check_cancelled();
        socket_.emplace(strand_);
        co_await asio::async_connect(*socket_, endpoints, asio::use_awaitable);
        check_cancelled();
        socket_->set_option(tcp::no_delay(true));
        socket_->set_option(asio::socket_base::keep_alive(true));
        if (cfg_.use_tls) {
            if (!ssl_ctx_) {
                ssl_ctx_.emplace(asio::ssl::context::tls_client);
                if (cfg_.ca_file.empty())
                    ssl_ctx_->set_default_verify_paths();
                else
                    ssl_ctx_->load_verify_file(cfg_.ca_file);
                ssl_ctx_->set_verify_mode(asio::ssl::verify_peer);
            }
            tls_.emplace(*socket_, *ssl_ctx_);
            if (cfg_.verify_server_name)
                tls_->set_verify_callback(asio::ssl::host_name_verification(cfg_.host));
            SSL_set_tlsext_host_name(tls_->native_handle(), cfg_.host.c_str());
            co_await tls_->async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
            check_cancelled();
        }
        request setup;
        std::vector<std::string> names;
        if (!cfg_.password.empty()) {
            if (cfg_.username.empty())
                setup.push("AUTH", cfg_.password);
            else
                setup.push("AUTH", cfg_.username, cfg_.password);
            names.push_back("AUTH");
        }
        if (cfg_.database != 0) {
            setup.push("SELECT", cfg_.database);
            names.push_back("SELECT");
        }
        if (!cfg_.client_name.empty()) {
            setup.push("CLIENT", "SETNAME", cfg_.client_name);
            names.push_back("CLIENT SETNAME");
        }
        setup.push("PING");
        names.push_back("PING");
        co_await write(asio::buffer(setup.payload()));
        for (auto const& name : names) {
            auto r = co_await read_setup_reply();
            if (r.is_error())
                throw server_error(name + " on " + cfg_.endpoint() + " while connecting", r.str);
        }
        check_cancelled();
    }

    awaitable<void> connect_with_timeout()
    {
        if (cfg_.connect_timeout.count() <= 0) {
            co_await connect_phase();
            co_return;
        }
        // Not awaitable_operators' `||`: it waits for the first *success*, so a refused
        // connection would only be reported when the timer fires.
        asio::steady_timer timer(strand_, cfg_.connect_timeout);
        auto [order, failure, timer_ec] =
            co_await asio::experimental::make_parallel_group(asio::co_spawn(strand_, connect_phase(), asio::deferred),
                                                             timer.async_wait(asio::deferred))
                .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
        if (order[0] == 1)
            throw es::error(make_error_code(errc::connect_timeout),
                            "connecting took longer than " + std::to_string(cfg_.connect_timeout.count()) + " ms");
        if (failure)
            std::rethrow_exception(failure);
    }

    // Runs the connection's three coroutines until the first of them ends, for whatever reason,
    // then cancels the other two and rethrows what ended it.
    awaitable<void> serve()
    {
        auto [order, e_reader, e_writer, e_health] =
            co_await asio::experimental::make_parallel_group(asio::co_spawn(strand_, reader(), asio::deferred),
                                                             asio::co_spawn(strand_, writer(), asio::deferred),
                                                             asio::co_spawn(strand_, health_check(), asio::deferred))
                .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
        std::exception_ptr first = order[0] == 0 ? e_reader : order[0] == 1 ? e_writer : e_health;
        if (first)
            std::rethrow_exception(first);
    }

    // ---- connected: writer, reader, health check ---------------------------------------------

    awaitable<void> writer()
    {
        std::vector<pending_ptr> batch;
        std::vector<asio::const_buffer> buffers;
        for (;;) {
            while (waiting_.empty()) {
                writer_wakeup_.expires_at(clock::time_point::max());
                co_await writer_wakeup_.async_wait(use_nothrow);
                if (cancelled_)
                    co_return;
                auto cs = co_await asio::this_coro::cancellation_state;
                if (cs.cancelled() != asio::cancellation_type::none)
                    co_return;
            }
            batch.clear();
            std::size_t bytes = 0;
            constexpr std::size_t max_batch_bytes = 4 << 20;
            while (!waiting_.empty() && (batch.empty() || bytes < max_batch_bytes)) {
                auto p = std::move(waiting_.front());
                waiting_.pop_front();
                if (p->done)
                    continue;
                if (p->written)
                    ++resent_;
                p->written = true;
                p->received = 0;
                p->replies.clear();
                bytes += p->payload.size();
                commands_ += p->expected;
                written_.push_back(p);
                batch.push_back(std::move(p));
            }
            if (batch.empty())
                continue;
            ++writes_;
            // Small requests are copied into one buffer (one write, one syscall); large payloads
            // (64 MiB values) are written in place.
            if (bytes <= (1u << 20)) {
                staging_.clear();
                for (auto const& p : batch)
                    staging_ += p->payload;
                co_await write(asio::buffer(staging_));
            } else {
                constexpr std::size_t slice = 1 << 20;
                for (auto const& p : batch) {
                    for (std::size_t off = 0; off < p->payload.size(); off += slice) {
                        co_await write(asio::buffer(p->payload.data() + off, std::min(slice, p->payload.size() - off)));
                        last_activity_ = clock::now();
                    }
                }
            }
            last_activity_ = clock::now();
        }
    }

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

    awaitable<void> reader()
    {
        for (;;) {
            while (auto r = reader_.next())
                deliver(std::move(*r));
            auto n = co_await read_some();
            last_activity_ = clock::now();
            reader_.feed(readbuf_.data(), n);
        }
    }

    awaitable<void> health_check()
    {
        asio::steady_timer timer(strand_);
        if (cfg_.health_check_interval.count() <= 0) {
            timer.expires_at(clock::time_point::max());
            co_await timer.async_wait(asio::use_awaitable);
            co_return;
        }
        for (;;) {
            timer.expires_after(cfg_.health_check_interval);
            co_await timer.async_wait(asio::use_awaitable);
            auto p = std::make_shared<pending>();
            request ping;
            ping.push("PING");
            p->payload = ping.payload();
            p->expected = 1;
            p->summary = "health-check PING";
            p->internal = true;
            p->timeout = std::chrono::milliseconds(0);  // judged below, by activity
            auto initiation = [this, p](auto handler) {
                p->handler = make_completion(std::move(handler));
                start(p);
            };
            // The PING's completion is not awaited directly: a watcher checks every interval
            // whether it is still unanswered while nothing moved on the socket.
            // Owned like the sweeper: it ends when the PING completes, which abort_all() ensures.
            sweepers_.spawn(strand_, wait_ping(std::move(initiation)), where() + " health-check PING", [] {});
            for (;;) {
                timer.expires_after(cfg_.health_check_interval);
                co_await timer.async_wait(asio::use_awaitable);
                if (p->done)
                    break;
                if (clock::now() - last_activity_ >= cfg_.health_check_interval) {
                    abandon(p);
                    throw es::error(make_error_code(errc::pong_timeout),
                                    where() + ": no answer to the health-check PING and no traffic for " +
                                        std::to_string(cfg_.health_check_interval.count()) + " ms");
                }
            }
        }
    }

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

    awaitable<void> run_loop()
    {
        int attempt = 0;
        for (;;) {
            if (cancelled_)
                break;
            std::string failure;
            bool was_connected = false;
            error_code failure_code;
            try {
                co_await connect_with_timeout();
                connected_ = true;
                was_connected = true;
                wake_ready({}, {});
                ++connects_;
                attempt = 0;
                last_error_.clear();
                log_->info("{}: connected{}", where(), cfg_.use_tls ? " (TLS)" : "");
                writer_wakeup_.cancel();
                co_await serve();
                failure = "the connection ended";
            } catch (es::error const& e) {
                failure = e.what();
                failure_code = e.code();
            } catch (boost::system::system_error const& e) {
                failure = e.code() == asio::error::eof ? std::string("the server closed the connection") : e.code().message();
                failure_code = e.code();
            }
            connected_ = false;
            close_transport();
            last_error_ = failure;
            if (!was_connected)
                wake_ready(make_error_code(errc::not_connected), where() + ": " + failure);
            on_connection_lost(failure);
            if (cancelled_)
                break;
            if (was_connected)
                ++losses_;
            if (cfg_.reconnect_wait.count() <= 0) {
                fail_waiting(errc::not_connected, failure);
                log_->error("{}: {}; reconnecting is disabled", where(), failure);
                if (failure_code == make_error_code(errc::connect_timeout) || failure_code.category() == error_category())
                    throw es::error(failure_code, where() + ": " + failure);
                throw es::error(make_error_code(errc::not_connected), where() + ": " + failure);
            }
            auto max_wait = std::max(cfg_.reconnect_wait, cfg_.reconnect_wait_max);
            auto wait = cfg_.reconnect_wait * (1LL << std::min(attempt, 20));
            wait = std::min<std::chrono::milliseconds>(wait, max_wait);
            std::uniform_int_distribution<long long> jitter(wait.count() / 2, wait.count());
            auto delay = std::chrono::milliseconds(jitter(rng_));
            ++attempt;
            log_->warn("{}: {}; reconnecting in {} ms (attempt {})", where(), failure, delay.count(), attempt);
            backoff_timer_.emplace(strand_, delay);
            co_await backoff_timer_->async_wait(use_nothrow);
        }
        abort_all();
    }

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

connection::connection(asio::any_io_executor ex, config cfg)
    : impl_(std::make_shared<detail::connection_impl>(std::move(ex), std::move(cfg)))
{
}

connection::~connection()
{
    cancel();
}

void connection::cancel()
{
    asio::post(impl_->strand_, [impl = impl_] { impl->do_cancel(); });
}

namespace {
awaitable<void> run_connection(std::shared_ptr<detail::connection_impl> impl)
{
    co_await asio::post(impl->strand_, asio::use_awaitable);
    if (impl->running_)
        throw es::error(es::errc::invalid_argument, impl->where() + ": run() is already running");
    impl->running_ = true;
    std::exception_ptr failure;
    try {
        co_await asio::co_spawn(impl->strand_, impl->run_loop(), asio::use_awaitable);
    } catch (...) {
        failure = std::current_exception();
    }
    co_await asio::post(impl->strand_, asio::use_awaitable);
    impl->running_ = false;
    co_await impl->sweepers_.join();
    if (failure && !impl->cancelled_)
        std::rethrow_exception(failure);
}
}  // namespace

awaitable<void> connection::run()
{
    // Not a coroutine itself: the returned coroutine owns the implementation and may outlive *this.
    return run_connection(impl_);
}

awaitable<response> connection::exec(request const& req)
{
    auto impl = impl_;
    auto p = std::make_shared<detail::pending>();
    p->payload = req.payload();
    p->expected = req.size();
    p->summary = req.summary();
    p->idempotent = req.idempotent;
    p->timeout = req.timeout.value_or(impl->cfg_.command_timeout);
    if (req.blocking() && !impl->cfg_.allow_blocking)
        throw es::error(make_error_code(errc::blocking_not_allowed),
                        impl->where() + " " + p->summary +
                            ": blocking commands need a connection created for them (config::allow_blocking)");
    auto summary = p->summary;
    // A named local, not a temporary in the co_await expression: g++ 12 destroys those twice.
    auto initiation = [impl, p = std::move(p)](auto handler) mutable {
                auto slot = asio::get_associated_cancellation_slot(handler);
                if (slot.is_connected()) {
                    slot.assign([impl, w = std::weak_ptr<detail::pending>(p)](asio::cancellation_type) {
                        asio::post(impl->strand_, [impl, w] {
                            if (auto p = w.lock())
                                impl->abandon(p);
                        });
                    });
                }
                p->handler = detail::make_completion(std::move(handler));
                // dispatch: when the strand is idle and we run on its io_context, start() runs
                // right here instead of after another trip through the queue.
                asio::dispatch(impl->strand_, [impl, p = std::move(p)] { impl->start(p); });
            };
    auto [ec, text, replies] =
        co_await asio::async_initiate<decltype(use_nothrow), void(boost::system::error_code, std::string, response)>(
            std::move(initiation), use_nothrow);
    if (ec)
        throw es::error(ec, text.empty() ? impl->where() + " " + summary + ": " + ec.message() : text);
    co_return std::move(replies);
}

awaitable<reply> connection::call(request const& req)
{
    auto replies = co_await exec(req);
    if (replies.empty())
        throw es::error(make_error_code(errc::unexpected_reply), "redis " + req.summary() + ": no reply");
    throw_if_error(replies.front(), req.summary());
    co_return std::move(replies.front());
}

awaitable<void> connection::wait_ready()
{
    auto impl = impl_;
    auto initiation = [impl](auto handler) {
        // Type-erased with the handler's own executor: waking it always posts there.
        auto ex = asio::get_associated_executor(handler);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        std::function<void(boost::system::error_code, std::string)> wake = [ex, shared](boost::system::error_code ec, std::string text) {
            asio::post(ex, [shared, ec, text = std::move(text)]() mutable { std::move(*shared)(ec, std::move(text)); });
        };
        asio::dispatch(impl->strand_, [impl, wake = std::move(wake)]() mutable {
            if (impl->connected_ || impl->cancelled_) {
                auto ec = impl->connected_ ? boost::system::error_code() : boost::system::error_code(asio::error::operation_aborted);
                wake(ec, impl->where() + ": the connection was cancelled");
                return;
            }
            impl->ready_waiters_.push_back(std::move(wake));
        });
    };
    auto [ec, text] = co_await asio::async_initiate<decltype(use_nothrow), void(boost::system::error_code, std::string)>(
        std::move(initiation), use_nothrow);
    if (ec)
        throw es::error(ec, text);
}

bool connection::is_connected() const noexcept
{
    return impl_->connected_;
}

awaitable<bool> connection::wait_connected(std::chrono::milliseconds limit)
{
    auto deadline = std::chrono::steady_clock::now() + limit;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (!impl_->connected_) {
        if (std::chrono::steady_clock::now() >= deadline)
            co_return false;
        timer.expires_after(std::chrono::milliseconds(2));
        co_await timer.async_wait(asio::use_awaitable);
    }
    co_return true;
}

connection_stats connection::stats() const noexcept
{
    return {impl_->connects_, impl_->losses_, impl_->commands_, impl_->writes_, impl_->resent_, impl_->timeouts_};
}

config const& connection::get_config() const noexcept
{
    return impl_->cfg_;
}

asio::any_io_executor connection::get_executor() const noexcept
{
    return impl_->strand_;
}

}  // namespace es::redis
