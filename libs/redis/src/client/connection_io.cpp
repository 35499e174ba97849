// The connection's I/O coroutines: connecting (TCP, TLS, AUTH, SELECT, CLIENT SETNAME), the
// writer, the reader, the health check, and the loop that reconnects with backoff.
#include "connection_impl.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>

namespace es::redis::detail {

awaitable<void> connection_impl::connect_phase()
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

awaitable<void> connection_impl::connect_with_timeout()
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
awaitable<void> connection_impl::serve()
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

awaitable<void> connection_impl::writer()
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

awaitable<void> connection_impl::reader()
{
    for (;;) {
        while (auto r = reader_.next())
            deliver(std::move(*r));
        auto n = co_await read_some();
        last_activity_ = clock::now();
        reader_.feed(readbuf_.data(), n);
    }
}

awaitable<void> connection_impl::health_check()
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

awaitable<void> connection_impl::run_loop()
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

}  // namespace es::redis::detail
