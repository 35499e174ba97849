// A PostgreSQL restart (fast shutdown) in the middle of appends: the failed calls report clear
// errors, the pool recovers by itself, and writers retrying with the same event ids end up with
// every batch stored exactly once.
#include "../../support/test_domain.hpp"
#include "pg_support.hpp"

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
    auto cfg = make_test_config(unique_schema("restart"));
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

    run_coro(
        [&]() -> awaitable<void> {
            co_await db->migrate();
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
        },
        std::chrono::seconds(120), 2);
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
}

}  // namespace
}  // namespace es::test
