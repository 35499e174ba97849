// The late-commit problem: a transaction takes a lower position, later ones commit first. A
// reader (and a catch-up subscription) must not pass the open position, and must see every event
// once the late one commits.
#include "../../support/test_domain.hpp"
#include "pg_support.hpp"

#include <es/postgres/subscription.hpp>

#include <boost/json/serialize.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <pqxx/pqxx>

#include <mutex>

namespace es::test {
namespace {

// One event as append_events takes it, written by hand: the test appends from its own session.
std::string raw_batch(new_event const& e)
{
    boost::json::array batch;
    batch.push_back(boost::json::object{{"event_id", to_string(e.event_id)},
                                        {"event_type", e.event_type},
                                        {"schema_version", 1},
                                        {"aggregate_type", ""},
                                        {"aggregate_id", ""},
                                        {"occurred_at", format_timestamp(e.occurred_at)},
                                        {"metadata", boost::json::object()},
                                        {"payload", e.payload}});
    return boost::json::serialize(batch);
}

TEST(PostgresGlobalOrder, ReaderNeverPassesAnOpenLowerPosition)
{
    auto const schema = unique_schema("gap");
    auto db = postgres::database::create(make_test_config(schema));
    postgres::event_store store(db);
    std::string const stream = unique_name("gap");
    std::uint64_t start = 0;
    run_coro([&]() -> awaitable<void> {
        std::vector<new_event> first{make_test_event("Before", 0)};
        auto r = co_await store.append(stream + "-a", expected_version::any(), std::move(first));
        start = r.last_global_position;
    });

    // The late writer: takes the next position and stays open.
    pqxx::connection late_conn(pg_conninfo());
    auto late = std::make_unique<pqxx::work>(late_conn);
    auto const late_event = make_test_event("Late", 1);
    auto row = late->exec_params("SELECT out_first_position FROM \"" + schema + "\".append_events($1, 0, 0, $2::jsonb, false)",
                                 stream + "-late", raw_batch(late_event))[0];
    auto const late_position = row[0].as<std::uint64_t>();
    ASSERT_EQ(late_position, start + 1);

    // A subscription follows the log the whole time.
    std::mutex mutex;
    std::vector<std::uint64_t> delivered;
    postgres::subscription_options options;
    options.name = unique_name("gap-reader");
    options.poll_interval = std::chrono::milliseconds(50);
    postgres::catch_up_subscription subscription(db, options, [&](event_envelope const& e) -> awaitable<void> {
        std::lock_guard lock(mutex);
        delivered.push_back(e.global_position);
        co_return;
    });
    auto seen = [&] {
        std::lock_guard lock(mutex);
        return delivered;
    };

    run_coro(
        [&]() -> awaitable<void> {
            auto ex = co_await asio::this_coro::executor;
            std::atomic<bool> finished{false};
            asio::co_spawn(ex, subscription.run(), [&](std::exception_ptr e) {
                EXPECT_FALSE(e) << "subscription failed";
                finished = true;
            });
            // Two later writers commit while the late one is open.
            for (int i = 0; i < 2; ++i) {
                std::vector<new_event> one{make_test_event("After", 2 + i)};
                auto r = co_await store.append(stream + "-b", expected_version::any(), std::move(one));
                EXPECT_GT(r.last_global_position, late_position);
            }
            // The naive reader would skip the late event forever: it sees the later ones already.
            auto naive = co_await db->run("naive read", [&](pqxx::connection& c) {
                pqxx::nontransaction tx(c);
                return tx.exec_params("SELECT count(*) FROM \"" + schema + "\".events WHERE global_position > $1",
                                      static_cast<long long>(start))[0][0].as<int>();
            });
            EXPECT_EQ(naive, 2);
            // The gap-safe reader returns nothing past the open position.
            read_all_options after_start;
            after_start.after_position = start;
            auto safe = co_await store.read_all(after_start);
            EXPECT_TRUE(safe.empty()) << safe.size() << " events returned past an open transaction";
            auto stats = co_await store.statistics();
            EXPECT_EQ(stats.readable_position, start);
            EXPECT_EQ(stats.newest_position, late_position + 2);
            co_await sleep_for(std::chrono::milliseconds(300));
            for (auto p : seen())
                EXPECT_LE(p, start);
            EXPECT_EQ(subscription.position(), start);

            late->commit();  // the late writer commits (blocking, but only briefly)
            late.reset();

            EXPECT_TRUE(co_await eventually([&] { return subscription.position() == late_position + 2; },
                                            std::chrono::seconds(10)));
            auto all = co_await store.read_all(after_start);
            EXPECT_EQ(all.size(), 3u);
            if (all.size() == 3) {
                EXPECT_EQ(all[0].global_position, late_position);
                EXPECT_EQ(all[0].event_id, late_event.event_id);
            }
            subscription.stop();
            EXPECT_TRUE(co_await eventually([&] { return finished.load(); }, std::chrono::seconds(5)));
        },
        std::chrono::seconds(30), 2);
    auto const got = seen();
    ASSERT_GE(got.size(), 3u);
    std::vector<std::uint64_t> const tail(got.end() - 3, got.end());
    EXPECT_EQ(tail, (std::vector<std::uint64_t>{late_position, late_position + 1, late_position + 2}));
    for (std::size_t i = 1; i < got.size(); ++i)
        EXPECT_GT(got[i], got[i - 1]) << "delivered out of order";
}

TEST(PostgresGlobalOrder, ConcurrentWritersAndAReaderAgreeOnOneOrder)
{
    // 16 writers append while a subscription follows; it must deliver every event exactly once
    // and in increasing position order, whatever order the transactions commit in.
    auto const schema = unique_schema("order");
    auto cfg = make_test_config(schema);
    cfg.pool_size = 8;
    auto db = postgres::database::create(cfg);
    postgres::event_store store(db);
    std::mutex mutex;
    std::vector<std::uint64_t> delivered;
    postgres::subscription_options options;
    options.name = "follower";
    options.batch_size = 7;
    options.poll_interval = std::chrono::milliseconds(20);
    postgres::catch_up_subscription subscription(db, options, [&](event_envelope const& e) -> awaitable<void> {
        std::lock_guard lock(mutex);
        delivered.push_back(e.global_position);
        co_return;
    });
    run_coro(
        [&]() -> awaitable<void> {
            co_await db->migrate();
            auto ex = co_await asio::this_coro::executor;
            std::atomic<bool> finished{false};
            asio::co_spawn(ex, subscription.run(), [&](std::exception_ptr) { finished = true; });
            co_await run_parallel(16, [&](int w) -> awaitable<void> {
                for (int i = 0; i < 20; ++i) {
                    std::vector<new_event> one{make_test_event("E", w * 100 + i)};
                    co_await store.append("w-" + std::to_string(w), expected_version::any(), std::move(one));
                }
            });
            EXPECT_TRUE(co_await eventually(
                [&] {
                    std::lock_guard lock(mutex);
                    return delivered.size() >= 320;
                },
                std::chrono::seconds(20)));
            subscription.stop();
            EXPECT_TRUE(co_await eventually([&] { return finished.load(); }, std::chrono::seconds(5)));
        },
        std::chrono::seconds(60), 4);
    ASSERT_EQ(delivered.size(), 320u);
    for (std::size_t i = 0; i < delivered.size(); ++i)
        EXPECT_EQ(delivered[i], i + 1);
}

}  // namespace
}  // namespace es::test
