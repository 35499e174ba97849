// A PostgreSQL restart (fast shutdown) in the middle of appends: the failed calls report clear
// errors, the pool recovers by itself, and writers retrying with the same event ids end up with
// every batch stored exactly once.
#include "../../support/test_domain.hpp"
#include "pg_support.hpp"

#include <es/postgres/subscription.hpp>

#include <boost/asio/co_spawn.hpp>
#include <pqxx/pqxx>

#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace es::test {
namespace {

TEST(PostgresServerRestart, AppendsFailClearlyThenRecoverWithoutDuplicates)
{
    std::string const pg_ctl = required_env("ES_TEST_PG_CTL");
    auto const schema = unique_schema("restart");
    auto cfg = make_test_config(schema);
    cfg.statement_timeout = std::chrono::seconds(5);
    auto db = postgres::database::create(cfg);
    postgres::event_store store(db);
    constexpr int writers = 4, batches = 40, per_batch = 2;
    std::mutex mutex;
    std::map<std::string, int> errors;  // message prefix -> count
    std::vector<std::string> samples;
    std::atomic<int> committed{0};
    std::atomic<int> retried_ok{0};
    std::thread restarter;
    std::atomic<int> restart_rc{-1};

    // A projection follows the log through the restart: one row per event, keyed by event id, so
    // applying an event twice would fail the subscription.
    std::string const table = "\"" + schema + "\".projected";
    postgres::subscription_options options;
    options.name = "projection";
    options.poll_interval = std::chrono::milliseconds(100);
    options.retry_interval = std::chrono::milliseconds(100);
    postgres::transactional_handler project = [table](pqxx::transaction_base& tx, event_envelope const& e) {
        tx.exec_params("INSERT INTO " + table + " (event_id, stream_id) VALUES ($1::uuid, $2)", to_string(e.event_id),
                       e.stream_id);
    };
    postgres::catch_up_subscription projection(db, options, project);
    std::exception_ptr projection_failure;

    run_coro(
        [&]() -> awaitable<void> {
            co_await db->migrate();
            co_await db->run("create the read model", [&](pqxx::connection& conn) {
                pqxx::nontransaction tx(conn);
                tx.exec("CREATE TABLE " + table + " (event_id uuid PRIMARY KEY, stream_id text NOT NULL)");
            });
            auto ex = co_await asio::this_coro::executor;
            std::atomic<bool> projection_done{false};
            asio::co_spawn(ex, projection.run(), [&](std::exception_ptr e) {
                projection_failure = e;
                projection_done = true;
            });
            co_await run_parallel(writers, [&](int w) -> awaitable<void> {
                auto const stream = "restart-" + std::to_string(w);
                for (int b = 0; b < batches; ++b) {
                    std::vector<new_event> batch;
                    for (int i = 0; i < per_batch; ++i)
                        batch.push_back(make_test_event("E", b * per_batch + i));
                    if (w == 0 && b == 10)
                        restarter = std::thread([&] {
                            restart_rc = std::system((pg_ctl + " restart -m fast >/dev/null 2>&1").c_str());
                        });
                    for (int attempt = 1;; ++attempt) {
                        bool ok = true;
                        try {
                            auto copy = batch;
                            auto r = co_await store.append(stream, expected_version::any(), std::move(copy));
                            if (attempt > 1)
                                ++retried_ok;
                            (void)r;
                        } catch (es::error const& e) {
                            ok = false;
                            std::lock_guard lock(mutex);
                            ++errors[e.code().message()];
                            if (samples.size() < 5)
                                samples.push_back(e.what());
                        }
                        if (ok)
                            break;
                        EXPECT_LT(attempt, 400) << "no recovery";
                        if (attempt >= 400)
                            co_return;
                        co_await sleep_for(std::chrono::milliseconds(25));
                    }
                    ++committed;
                }
            });
            // The projection catches up with everything, across the restart.
            auto const newest = (co_await store.statistics()).newest_position;
            EXPECT_TRUE(co_await eventually([&] { return projection.position() >= newest || projection_done.load(); },
                                            std::chrono::seconds(30)));
            projection.stop();
            EXPECT_TRUE(co_await eventually([&] { return projection_done.load(); }, std::chrono::seconds(10)));
        },
        std::chrono::seconds(120), 2);
    if (projection_failure) {
        try {
            std::rethrow_exception(projection_failure);
        } catch (std::exception const& e) {
            ADD_FAILURE() << "the projection stopped: " << e.what();
        }
    }
    if (restarter.joinable())
        restarter.join();
    EXPECT_EQ(restart_rc.load(), 0) << "pg_ctl restart failed";
    EXPECT_EQ(committed.load(), writers * batches);
    EXPECT_FALSE(errors.empty()) << "the restart caused no error at all (too fast to observe?)";
    for (auto const& [code, count] : errors)
        std::cout << "  " << count << " x " << code << "\n";
    for (auto const& s : samples) {
        std::cout << "  e.g. " << s << "\n";
        EXPECT_NE(s.find("PostgreSQL at 127.0.0.1"), std::string::npos) << s;
    }
    std::cout << "  " << retried_ok.load() << " batches succeeded on a retry\n";

    run_coro([&]() -> awaitable<void> {
        for (int w = 0; w < writers; ++w) {
            auto events = co_await store.read_stream("restart-" + std::to_string(w));
            EXPECT_EQ(events.size(), static_cast<std::size_t>(batches * per_batch)) << "stream " << w;
            std::set<int> payloads;
            for (std::size_t i = 0; i < events.size(); ++i) {
                EXPECT_EQ(events[i].stream_version, i + 1);
                payloads.insert(events[i].payload.at("n").to_number<int>());
            }
            EXPECT_EQ(payloads.size(), events.size()) << "duplicate events in stream " << w;
        }
    });
    pqxx::connection conn(pg_conninfo());
    pqxx::nontransaction tx(conn);
    EXPECT_EQ(tx.exec("SELECT count(*) FROM " + table)[0][0].as<int>(), writers * batches * per_batch)
        << "the projection lost or repeated events";
}

}  // namespace
}  // namespace es::test
