// Catch-up subscriptions: history then live, checkpoints, restarts, exactly-once projections.
#include "../../support/test_domain.hpp"
#include "pg_support.hpp"

#include <es/postgres/checkpoint_store.hpp>
#include <es/postgres/subscription.hpp>

#include <boost/asio/co_spawn.hpp>
#include <pqxx/pqxx>

#include <mutex>

namespace es::test {
namespace {

class PostgresSubscription : public ::testing::Test {
protected:
    std::string schema_ = unique_schema("sub");
    std::shared_ptr<postgres::database> db_ = postgres::database::create(make_test_config(schema_));
    postgres::event_store store_{db_};
    std::mutex mutex_;
    std::vector<event_envelope> seen_;

    postgres::subscription_options options(std::string name, bool listen = true)
    {
        postgres::subscription_options o;
        o.name = std::move(name);
        o.batch_size = 10;
        o.listen = listen;
        // Long enough that a quick delivery proves the notification woke the reader.
        o.poll_interval = listen ? std::chrono::milliseconds(5000) : std::chrono::milliseconds(30);
        return o;
    }

    postgres::event_handler collector()
    {
        return [this](event_envelope const& e) -> awaitable<void> {
            std::lock_guard lock(mutex_);
            seen_.push_back(e);
            co_return;
        };
    }

    std::size_t seen_count()
    {
        std::lock_guard lock(mutex_);
        return seen_.size();
    }

    awaitable<void> append_n(std::string stream, int n, int first = 0)
    {
        for (int i = 0; i < n; ++i) {
            std::vector<new_event> one{make_test_event("E", first + i)};
            co_await store_.append(stream, expected_version::any(), std::move(one));
        }
    }

    // Runs the subscription until `done` holds, then stops it and waits for run() to return.
    awaitable<void> run_until(postgres::catch_up_subscription& sub, std::function<bool()> done,
                              std::exception_ptr* failure = nullptr)
    {
        auto ex = co_await asio::this_coro::executor;
        auto finished = std::make_shared<std::atomic<bool>>(false);
        asio::co_spawn(ex, sub.run(), [finished, failure](std::exception_ptr e) {
            if (failure != nullptr)
                *failure = e;
            *finished = true;
        });
        EXPECT_TRUE(co_await eventually([&] { return finished->load() || done(); }, std::chrono::seconds(20)));
        sub.stop();
        EXPECT_TRUE(co_await eventually([&] { return finished->load(); }, std::chrono::seconds(10)));
    }
};

TEST_F(PostgresSubscription, FromZeroThroughHistoryIntoLive)
{
    postgres::catch_up_subscription sub(db_, options("from-zero"), collector());
    run_coro(
        [&]() -> awaitable<void> {
            co_await append_n("a", 15);
            co_await append_n("b", 10);
            auto ex = co_await asio::this_coro::executor;
            std::atomic<bool> finished{false};
            asio::co_spawn(ex, sub.run(), [&](std::exception_ptr) { finished = true; });
            EXPECT_TRUE(co_await eventually([&] { return seen_count() == 25 && sub.caught_up(); }));
            // Live: woken by NOTIFY well before the 5 s poll interval.
            auto const t0 = std::chrono::steady_clock::now();
            co_await append_n("c", 3);
            EXPECT_TRUE(co_await eventually([&] { return seen_count() == 28; }, std::chrono::seconds(3)));
            EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
            sub.stop();
            EXPECT_TRUE(co_await eventually([&] { return finished.load(); }));
            postgres::checkpoint_store checkpoints(db_);
            auto saved = co_await checkpoints.load("from-zero");
            EXPECT_EQ(saved.value_or(0), 28u);
        },
        std::chrono::seconds(30), 2);
    ASSERT_EQ(seen_.size(), 28u);
    for (std::size_t i = 0; i < seen_.size(); ++i)
        EXPECT_EQ(seen_[i].global_position, i + 1);
}

TEST_F(PostgresSubscription, PollingFallbackWithoutListen)
{
    postgres::catch_up_subscription sub(db_, options("polling", false), collector());
    run_coro(
        [&]() -> awaitable<void> {
            co_await append_n("a", 5);
            auto ex = co_await asio::this_coro::executor;
            std::atomic<bool> finished{false};
            asio::co_spawn(ex, sub.run(), [&](std::exception_ptr) { finished = true; });
            EXPECT_TRUE(co_await eventually([&] { return seen_count() == 5; }));
            co_await append_n("a", 5, 5);
            EXPECT_TRUE(co_await eventually([&] { return seen_count() == 10; }));
            sub.stop();
            EXPECT_TRUE(co_await eventually([&] { return finished.load(); }));
        },
        std::chrono::seconds(30), 2);
}

TEST_F(PostgresSubscription, FiltersByTypeAndStillAdvancesTheCheckpoint)
{
    auto o = options("filtered");
    o.event_types = {"Wanted"};
    postgres::catch_up_subscription sub(db_, o, collector());
    run_coro(
        [&]() -> awaitable<void> {
            for (int i = 0; i < 30; ++i) {
                std::vector<new_event> one{make_test_event(i % 3 == 0 ? "Wanted" : "Other", i)};
                co_await store_.append("f", expected_version::any(), std::move(one));
            }
            co_await run_until(sub, [&] { return sub.position() == 30; });
        },
        std::chrono::seconds(30), 2);
    ASSERT_EQ(seen_.size(), 10u);
    for (auto const& e : seen_)
        EXPECT_EQ(e.event_type, "Wanted");
}

TEST_F(PostgresSubscription, FromACheckpoint)
{
    run_coro(
        [&]() -> awaitable<void> {
            co_await append_n("a", 20);
            postgres::checkpoint_store checkpoints(db_);
            co_await checkpoints.save("from-checkpoint", 12);
            postgres::catch_up_subscription sub(db_, options("from-checkpoint"), collector());
            co_await run_until(sub, [&] { return seen_count() >= 8 && sub.caught_up(); });
        },
        std::chrono::seconds(30), 2);
    ASSERT_EQ(seen_.size(), 8u);
    EXPECT_EQ(seen_.front().global_position, 13u);
    EXPECT_EQ(seen_.back().global_position, 20u);
}

TEST_F(PostgresSubscription, ResumesAcrossARestart)
{
    run_coro(
        [&]() -> awaitable<void> {
            co_await append_n("a", 12);
            {
                postgres::catch_up_subscription first(db_, options("restart"), collector());
                co_await run_until(first, [&] { return seen_count() == 12 && first.caught_up(); });
            }
            co_await append_n("a", 7, 12);
            // A new process: a new database object and subscription under the same name.
            auto db2 = postgres::database::create(make_test_config(schema_));
            postgres::catch_up_subscription second(db2, options("restart"), collector());
            co_await run_until(second, [&] { return seen_count() == 19 && second.caught_up(); });
        },
        std::chrono::seconds(30), 2);
    ASSERT_EQ(seen_.size(), 19u);
    for (std::size_t i = 0; i < seen_.size(); ++i)
        EXPECT_EQ(seen_[i].global_position, i + 1) << "duplicate or gap at " << i;
}

TEST_F(PostgresSubscription, TransactionalProjectionIsExactlyOnceAcrossAFailure)
{
    // The read model lives in PostgreSQL: event counts per stream, written in the same
    // transaction as the checkpoint.
    std::string const table = "\"" + schema_ + "\".counts";
    {
        run_coro([&]() -> awaitable<void> { co_await db_->migrate(); });
        pqxx::connection conn(pg_conninfo());
        pqxx::nontransaction tx(conn);
        tx.exec("CREATE TABLE " + table + " (stream_id text PRIMARY KEY, n bigint NOT NULL)");
    }
    auto project = [table](pqxx::transaction_base& tx, event_envelope const& e) {
        tx.exec_params("INSERT INTO " + table + " VALUES ($1, 1) ON CONFLICT (stream_id) DO UPDATE SET n = " + table +
                           ".n + 1",
                       e.stream_id);
    };
    std::atomic<int> handled{0};
    run_coro(
        [&]() -> awaitable<void> {
            co_await append_n("x", 25);
            co_await append_n("y", 15);
            // First run: the handler fails in the middle of the third batch (a crash).
            postgres::transactional_handler failing = [&](pqxx::transaction_base& tx, event_envelope const& e) {
                if (e.global_position == 25)
                    throw std::runtime_error("projection crashed at position 25");
                project(tx, e);
                ++handled;
            };
            postgres::catch_up_subscription first(db_, options("counts"), failing);
            std::exception_ptr failure;
            co_await run_until(first, [] { return false; }, &failure);
            EXPECT_TRUE(failure != nullptr);
            EXPECT_EQ(first.position(), 20u);  // two whole batches committed, the third rolled back

            postgres::transactional_handler healthy = project;
            postgres::catch_up_subscription second(db_, options("counts"), healthy);
            co_await run_until(second, [&] { return second.position() == 40; });
        },
        std::chrono::seconds(30), 2);
    EXPECT_GE(handled.load(), 24);  // events of the rolled-back batch were handled once, then undone
    pqxx::connection conn(pg_conninfo());
    pqxx::nontransaction tx(conn);
    auto rows = tx.exec("SELECT stream_id, n FROM " + table + " ORDER BY stream_id");
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0][1].as<int>(), 25);
    EXPECT_EQ(rows[1][1].as<int>(), 15);
    auto cp = tx.exec("SELECT position FROM \"" + schema_ + "\".checkpoints WHERE name = 'counts'");
    EXPECT_EQ(cp[0][0].as<int>(), 40);
}

}  // namespace
}  // namespace es::test
