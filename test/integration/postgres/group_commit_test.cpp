// Group commit: concurrent appends share transactions, each keeps its own outcome.
#include "../../support/test_domain.hpp"
#include "pg_support.hpp"

#include <es/postgres/event_store.hpp>

#include <pqxx/pqxx>

#include <set>

namespace es::test {
namespace {

class PostgresGroupCommit : public ::testing::Test {
protected:
    static postgres::config group_config(std::string schema)
    {
        auto cfg = make_test_config(std::move(schema));
        cfg.group_commit.enabled = true;
        cfg.group_commit.max_batch = 64;
        return cfg;
    }

    std::string schema_ = unique_schema("group");
    std::shared_ptr<postgres::database> db_ = postgres::database::create(group_config(schema_));
    postgres::event_store store_{db_};

    static std::vector<new_event> one(int n) { return std::vector<new_event>{make_test_event("TestEvent", n)}; }

    // Transactions that wrote events: fewer than appends means groups formed.
    awaitable<long long> transactions()
    {
        auto const table = db_->quoted_schema() + ".events";
        co_return co_await db_->run("count transactions", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            return tx.exec("SELECT count(DISTINCT transaction_id) FROM " + table)[0][0].as<long long>();
        });
    }

    awaitable<void> check_global_order(std::size_t expected_events)
    {
        read_all_options o;
        o.max_count = 100000;
        auto all = co_await store_.read_all(o);
        EXPECT_EQ(all.size(), expected_events);
        for (std::size_t i = 1; i < all.size(); ++i)
            EXPECT_LT(all[i - 1].global_position, all[i].global_position);
    }
};

TEST_F(PostgresGroupCommit, SixtyFourWritersShareTransactionsAndGetTheirOwnResults)
{
    std::string const prefix = unique_name("w");
    run_coro(
        [&]() -> awaitable<void> {
            std::vector<append_result> results(64 * 3);
            co_await run_parallel(64, [&](int w) -> awaitable<void> {
                auto const stream = prefix + "-" + std::to_string(w);
                for (int round = 0; round < 3; ++round) {
                    auto events = one(w * 10 + round);
                    auto const expected = round == 0 ? expected_version::no_stream() : expected_version::exactly(round);
                    results[w * 3 + round] = co_await store_.append(stream, expected, std::move(events));
                }
            });
            std::set<std::uint64_t> positions;
            for (int w = 0; w < 64; ++w)
                for (int round = 0; round < 3; ++round) {
                    auto const& r = results[w * 3 + round];
                    EXPECT_EQ(r.stream_version, static_cast<std::uint64_t>(round + 1));
                    EXPECT_FALSE(r.already_stored);
                    EXPECT_EQ(r.events.size(), 1u);
                    if (r.events.size() == 1) {
                        EXPECT_EQ(r.events[0].stream_version, static_cast<std::uint64_t>(round + 1));
                        EXPECT_EQ(r.events[0].global_position, r.last_global_position);
                        EXPECT_EQ(r.events[0].payload.at("n").to_number<int>(), w * 10 + round);
                    }
                    positions.insert(r.last_global_position);
                }
            EXPECT_EQ(positions.size(), 192u);
            auto const txs = co_await transactions();
            EXPECT_LT(txs, 192) << "no groups formed";
            co_await check_global_order(192);
            // What append reported is what is stored.
            for (int w = 0; w < 64; w += 7) {
                auto stored = co_await store_.read_stream(prefix + "-" + std::to_string(w));
                EXPECT_EQ(stored.size(), 3u);
                for (std::size_t i = 0; i < stored.size(); ++i)
                    EXPECT_EQ(stored[i].global_position, results[w * 3 + i].last_global_position);
            }
        },
        std::chrono::seconds(60), 2);
}

TEST_F(PostgresGroupCommit, ConflictsStayWithTheirOwnAppend)
{
    std::string const prefix = unique_name("c");
    run_coro(
        [&]() -> awaitable<void> {
            for (int w = 0; w < 64; w += 2) {  // even streams exist already
                auto events = one(w);
                co_await store_.append(prefix + "-" + std::to_string(w), expected_version::no_stream(), std::move(events));
            }
            std::atomic<int> ok{0}, conflicts{0};
            co_await run_parallel(64, [&](int w) -> awaitable<void> {
                auto events = one(1000 + w);
                bool conflict = false;
                try {
                    auto r = co_await store_.append(prefix + "-" + std::to_string(w), expected_version::no_stream(),
                                                    std::move(events));
                    EXPECT_EQ(w % 2, 1);
                    EXPECT_EQ(r.stream_version, 1u);
                    ++ok;
                } catch (concurrency_error const& e) {
                    conflict = true;
                    EXPECT_EQ(w % 2, 0) << e.what();
                    EXPECT_EQ(e.actual_version(), 1u);
                }
                if (conflict)
                    ++conflicts;
            });
            EXPECT_EQ(ok.load(), 32);
            EXPECT_EQ(conflicts.load(), 32);
            for (int w = 0; w < 64; ++w)
                EXPECT_EQ(co_await store_.stream_version(prefix + "-" + std::to_string(w)), 1u);
            co_await check_global_order(64);
        },
        std::chrono::seconds(60), 2);
}

TEST_F(PostgresGroupCommit, IdempotentRetriesInsideAGroup)
{
    std::string const prefix = unique_name("i");
    run_coro(
        [&]() -> awaitable<void> {
            std::vector<std::vector<new_event>> first(32);
            std::vector<append_result> originals(32);
            for (int w = 0; w < 32; ++w) {
                first[w] = one(w);
                auto copy = first[w];
                originals[w] = co_await store_.append(prefix + "-" + std::to_string(w), expected_version::no_stream(),
                                                      std::move(copy));
            }
            // 32 retries of stored appends (stale expected versions, and `any`) among 32 new ones.
            co_await run_parallel(64, [&](int w) -> awaitable<void> {
                auto const stream = prefix + "-" + std::to_string(w);
                if (w < 32) {
                    auto again = first[w];
                    auto const expected = w % 2 == 0 ? expected_version::no_stream() : expected_version::any();
                    auto r = co_await store_.append(stream, expected, std::move(again));
                    EXPECT_TRUE(r.already_stored) << stream;
                    EXPECT_EQ(r.stream_version, 1u);
                } else {
                    auto events = one(w);
                    auto r = co_await store_.append(stream, expected_version::no_stream(), std::move(events));
                    EXPECT_FALSE(r.already_stored);
                    EXPECT_EQ(r.stream_version, 1u);
                }
            });
            co_await check_global_order(64);
        },
        std::chrono::seconds(60), 2);
}

TEST_F(PostgresGroupCommit, AFailingAppendDoesNotFailItsNeighbours)
{
    std::string const prefix = unique_name("f");
    run_coro(
        [&]() -> awaitable<void> {
            auto stored = one(0);
            auto copy = stored;
            co_await store_.append(prefix + "-elsewhere", expected_version::any(), std::move(copy));
            std::atomic<int> ok{0}, duplicates{0}, invalid{0};
            co_await run_parallel(64, [&](int w) -> awaitable<void> {
                auto events = one(w);
                if (w == 10)
                    events = stored;  // an event id stored in another stream
                if (w == 20)
                    events[0].payload["nul"] = std::string("a\0b", 3);  // jsonb rejects it
                if (w == 30)
                    events.push_back(events[0]);  // an id twice in one batch
                boost::system::error_code ec;
                try {
                    co_await store_.append(prefix + "-" + std::to_string(w), expected_version::any(), std::move(events));
                    ++ok;
                } catch (es::error const& e) {
                    ec = e.code();
                }
                if (ec == make_error_code(errc::duplicate_event_id))
                    ++duplicates;
                if (ec == make_error_code(errc::invalid_argument))
                    ++invalid;
            });
            EXPECT_EQ(ok.load(), 61);
            EXPECT_EQ(duplicates.load(), 2);
            EXPECT_EQ(invalid.load(), 1);
            for (int w : {10, 20, 30})
                EXPECT_EQ(co_await store_.stream_version(prefix + "-" + std::to_string(w)), 0u);
            co_await check_global_order(62);
        },
        std::chrono::seconds(60), 2);
}

TEST_F(PostgresGroupCommit, WritersOfOneStreamStillGetContiguousVersions)
{
    std::string const stream = unique_name("hot");
    run_coro(
        [&]() -> awaitable<void> {
            co_await run_parallel(32, [&](int w) -> awaitable<void> {
                auto events = one(w);
                co_await store_.append(stream, expected_version::any(), std::move(events));
            });
            auto all = co_await store_.read_stream(stream);
            EXPECT_EQ(all.size(), 32u);
            for (std::size_t i = 0; i < all.size(); ++i)
                EXPECT_EQ(all[i].stream_version, i + 1);
        },
        std::chrono::seconds(60), 2);
}

}  // namespace
}  // namespace es::test
