#include "detail.hpp"

#include <es/log.hpp>
#include <es/postgres/checkpoint_store.hpp>
#include <es/postgres/event_store.hpp>
#include <es/postgres/subscription.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

namespace es::postgres {
namespace {

struct wake_receiver final : pqxx::notification_receiver {
    using notification_receiver::notification_receiver;
    void operator()(std::string const&, int) override {}
};

}  // namespace

// A LISTEN connection on a thread of its own: await_notification blocks, so it must not run on
// the caller's executor nor hold one of the pool's threads.
struct catch_up_subscription::listener {
    asio::thread_pool thread{1};
    std::unique_ptr<pqxx::connection> conn;
    std::unique_ptr<wake_receiver> receiver;

    // Runs on `thread`. Returns whether the connection is listening.
    bool ensure(std::string const& conninfo, std::string const& channel, std::string const& name,
                std::string const& server)
    {
        try {
            if (!conn) {
                conn = std::make_unique<pqxx::connection>(conninfo);
                receiver = std::make_unique<wake_receiver>(*conn, channel);
            }
            return true;
        } catch (std::exception const& e) {
            logger("es.postgres")->warn("subscription '{}': LISTEN on {} failed ({}); polling instead", name, server,
                                        e.what());
            receiver.reset();
            conn.reset();
            return false;
        }
    }

    ~listener()
    {
        asio::post(thread, [this] {
            receiver.reset();
            conn.reset();
        });
        thread.join();
    }
};

catch_up_subscription::catch_up_subscription(std::shared_ptr<database> db, subscription_options options,
                                             event_handler handler)
    : db_(std::move(db)), options_(std::move(options)), handler_(std::move(handler)),
      listener_(std::make_shared<listener>())
{
    if (options_.name.empty())
        throw error(errc::invalid_argument, "catch-up subscription: the checkpoint name is empty");
}

catch_up_subscription::catch_up_subscription(std::shared_ptr<database> db, subscription_options options,
                                             transactional_handler handler)
    : db_(std::move(db)), options_(std::move(options)), tx_handler_(std::move(handler)),
      listener_(std::make_shared<listener>())
{
    if (options_.name.empty())
        throw error(errc::invalid_argument, "catch-up subscription: the checkpoint name is empty");
}

catch_up_subscription::~catch_up_subscription() = default;

void catch_up_subscription::stop() noexcept { stopped_ = true; }

bool catch_up_subscription::wanted(event_envelope const& e) const
{
    auto in = [](std::vector<std::string> const& set, std::string const& v) {
        return set.empty() || std::find(set.begin(), set.end(), v) != set.end();
    };
    return in(options_.event_types, e.event_type) && in(options_.aggregate_types, e.aggregate_type);
}

awaitable<void> catch_up_subscription::run()
{
    auto log = logger("es.postgres");
    checkpoint_store checkpoints(db_);
    event_store store(db_);
    auto const saved = co_await checkpoints.load(options_.name);
    position_ = saved.value_or(0);
    log->info("subscription '{}' starts after position {}", options_.name, position_.load());
    std::string const name = options_.name;
    if (options_.listen) {
        // Listen before the first read: a notification sent between a read that finds nothing
        // and the first wait would otherwise be lost (and the wake-up wait for the poll).
        auto l = listener_;
        auto const conninfo = db_->settings().conninfo;
        auto const channel = db_->notify_channel();
        std::function<void()> job = [&, l] { l->ensure(conninfo, channel, options_.name, db_->server()); };
        co_await detail::run_on(l->thread, std::move(job));
    }
    bool resync = false;  // reload the checkpoint: after a failure the last batch may or may not have committed
    while (!stopped_) {
        std::exception_ptr handler_failure;
        std::string transient_failure;
        try {
            if (resync) {
                auto const stored = co_await checkpoints.load(name);
                position_ = stored.value_or(0);
                resync = false;
            }
            read_all_options read;
            read.after_position = position_;
            read.max_count = options_.batch_size == 0 ? 500 : options_.batch_size;
            // Unfiltered on purpose: filtering here lets the checkpoint advance past events nobody
            // wants, instead of scanning them again on every read.
            auto page = co_await store.read_all(read);
            if (page.empty()) {
                caught_up_ = true;
                co_await wait_for_more();
                continue;
            }
            caught_up_ = false;
            auto const last = page.back().global_position;
            std::vector<event_envelope> batch;
            batch.reserve(page.size());
            for (auto& e : page)
                if (wanted(e))
                    batch.push_back(std::move(e));
            if (handler_) {
                for (auto const& e : batch) {
                    try {
                        co_await handler_(e);
                    } catch (...) {
                        handler_failure = std::current_exception();
                        break;
                    }
                }
                if (!handler_failure) {
                    co_await checkpoints.save(name, last);
                    position_ = last;
                }
            } else {
                co_await db_->run("subscription " + detail::quoted(name) + " handling events up to position " +
                                      std::to_string(last),
                                  [&](pqxx::connection& conn) {
                                      pqxx::work tx(conn);
                                      for (auto const& e : batch)
                                          tx_handler_(tx, e);
                                      checkpoint_store::save(tx, name, last);
                                      tx.commit();
                                  });
                position_ = last;
            }
        } catch (es::error const& e) {
            bool const transient = e.code() == make_error_code(errc::not_connected) ||
                                   e.code() == make_error_code(errc::timed_out);
            if (!transient || options_.retry_interval.count() == 0)
                throw;
            transient_failure = e.what();
        }
        if (handler_failure)
            std::rethrow_exception(handler_failure);
        if (!transient_failure.empty()) {
            log->warn("subscription '{}': {}; retrying in {} ms from the stored checkpoint", name, transient_failure,
                      options_.retry_interval.count());
            caught_up_ = false;
            resync = true;
            asio::steady_timer timer(co_await asio::this_coro::executor);
            auto const until = std::chrono::steady_clock::now() + options_.retry_interval;
            while (!stopped_ && std::chrono::steady_clock::now() < until) {
                timer.expires_after(std::min<std::chrono::steady_clock::duration>(
                    std::chrono::milliseconds(50), until - std::chrono::steady_clock::now()));
                co_await timer.async_wait(asio::use_awaitable);
            }
        }
    }
}

awaitable<void> catch_up_subscription::wait_for_more()
{
    using namespace std::chrono;
    auto const interval = options_.poll_interval.count() > 0 ? options_.poll_interval : milliseconds(1000);
    auto const deadline = steady_clock::now() + interval;
    constexpr auto slice = milliseconds(50);  // how quickly stop() is noticed while idle
    if (options_.listen) {
        bool listened = false;
        auto l = listener_;
        auto const conninfo = db_->settings().conninfo;
        auto const channel = db_->notify_channel();
        std::function<void()> job = [&, l] {
            if (!l->ensure(conninfo, channel, options_.name, db_->server()))
                return;
            try {
                while (!stopped_ && steady_clock::now() < deadline) {
                    auto const left = duration_cast<microseconds>(
                        std::min<steady_clock::duration>(slice, deadline - steady_clock::now()));
                    if (l->conn->await_notification(0, std::max<long>(static_cast<long>(left.count()), 1)) > 0)
                        break;
                }
                listened = true;
            } catch (std::exception const& e) {
                logger("es.postgres")->warn("subscription '{}': LISTEN on {} failed ({}); polling instead",
                                            options_.name, db_->server(), e.what());
                l->receiver.reset();
                l->conn.reset();
            }
        };
        co_await detail::run_on(l->thread, std::move(job));
        if (listened)
            co_return;
    }
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (!stopped_ && steady_clock::now() < deadline) {
        timer.expires_after(std::min<steady_clock::duration>(slice, deadline - steady_clock::now()));
        co_await timer.async_wait(asio::use_awaitable);
    }
}

}  // namespace es::postgres
