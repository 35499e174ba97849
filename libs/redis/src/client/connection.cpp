// The connection: a FIFO of requests on a strand, one writer coroutine that coalesces waiting
// requests into one socket write (automatic pipelining), one reader coroutine that matches RESP2
// replies to written requests in order, a health check, and a run loop that reconnects.
//
// Request states: waiting (queued, not written) -> written (bytes handed to the socket) -> done.
// A request can become done early (timeout, caller cancellation): it stays in written_ until its
// replies arrive so that later replies still match later requests, and its replies are dropped.
#include "connection_impl.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>

namespace es::redis {


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
