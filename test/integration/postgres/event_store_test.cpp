// PostgreSQL-specific behaviour of the event store: concurrency, idempotent retries, hostile
// input, migrations and the stream operations.
#include "../../support/test_domain.hpp"
#include "pg_support.hpp"

#include <es/postgres/event_store.hpp>

#include <pqxx/pqxx>

#include <set>

namespace es::test {
namespace {

std::string const event_type = "TestEvent";

class PostgresStore : public ::testing::Test {
protected:
    std::string schema_ = unique_schema("store");
    std::shared_ptr<postgres::database> db_ = postgres::database::create(make_test_config(schema_));
    postgres::event_store store_{db_};

    static std::vector<new_event> batch(int n, int first = 0)
    {
        std::vector<new_event> out;
        for (int i = 0; i < n; ++i)
            out.push_back(make_test_event(event_type, first + i));
        return out;
    }
};

TEST_F(PostgresStore, ThirtyTwoWritersOnOneStreamGetContiguousVersions)
{
    std::string const stream = unique_name("hot");
    run_coro(
        [&]() -> awaitable<void> {
            co_await run_parallel(32, [&](int w) -> awaitable<void> {
                auto events = batch(3, w * 10);
                co_await store_.append(stream, expected_version::any(), std::move(events));
            });
            auto all = co_await store_.read_stream(stream);
            EXPECT_EQ(all.size(), 96u);
            std::set<int> seen;
            for (std::size_t i = 0; i < all.size(); ++i) {
                EXPECT_EQ(all[i].stream_version, i + 1);
                seen.insert(all[i].payload.at("n").to_number<int>());
            }
            EXPECT_EQ(seen.size(), 96u);
            // A batch is contiguous: each writer's three events sit next to each other.
            for (std::size_t i = 0; i + 2 < all.size(); i += 3) {
                auto n = all[i].payload.at("n").to_number<int>();
                EXPECT_EQ(all[i + 2].payload.at("n").to_number<int>(), n + 2);
            }
        },
        std::chrono::seconds(60), 4);
}

TEST_F(PostgresStore, ThirtyTwoWritersOnDistinctStreams)
{
    std::string const prefix = unique_name("many");
    run_coro(
        [&]() -> awaitable<void> {
            co_await run_parallel(32, [&](int w) -> awaitable<void> {
                auto const stream = prefix + "-" + std::to_string(w);
                for (int round = 0; round < 5; ++round) {
                    auto events = batch(2, round * 2);
                    auto r = co_await store_.append(stream, expected_version::exactly(round * 2), std::move(events));
                    EXPECT_EQ(r.stream_version, static_cast<std::uint64_t>(round * 2 + 2));
                }
            });
            std::set<std::uint64_t> positions;
            read_all_options o;
            o.max_count = 10000;
            auto all = co_await store_.read_all(o);
            for (auto const& e : all)
                positions.insert(e.global_position);
            EXPECT_EQ(all.size(), 320u);
            EXPECT_EQ(positions.size(), 320u);
            auto stats = co_await store_.statistics();
            EXPECT_EQ(stats.events, 320u);
            EXPECT_EQ(stats.streams, 32u);
            EXPECT_EQ(stats.newest_position, stats.readable_position);
        },
        std::chrono::seconds(60), 4);
}

TEST_F(PostgresStore, ConcurrentRetriesOfOneBatchStoreItOnce)
{
    std::string const stream = unique_name("retry");
    auto const events = batch(4);
    run_coro(
        [&]() -> awaitable<void> {
            std::atomic<int> stored{0}, repeated{0};
            co_await run_parallel(8, [&](int) -> awaitable<void> {
                auto copy = events;
                auto r = co_await store_.append(stream, expected_version::no_stream(), std::move(copy));
                ++(r.already_stored ? repeated : stored);
            });
            EXPECT_EQ(stored.load(), 1);
            EXPECT_EQ(repeated.load(), 7);
            auto all = co_await store_.read_stream(stream);
            EXPECT_EQ(all.size(), 4u);
            // A later retry with a stale expected version is still a no-op.
            auto more = batch(1, 9);
            co_await store_.append(stream, expected_version::any(), std::move(more));
            auto copy = events;
            auto again = co_await store_.append(stream, expected_version::no_stream(), std::move(copy));
            EXPECT_TRUE(again.already_stored);
            EXPECT_EQ(again.stream_version, 5u);
        },
        std::chrono::seconds(60), 4);
}

TEST_F(PostgresStore, StatementTimeoutIsAClearErrorAndTheRetrySucceeds)
{
    auto cfg = make_test_config(schema_);
    cfg.statement_timeout = std::chrono::milliseconds(300);
    auto short_db = postgres::database::create(cfg);
    postgres::event_store short_store(short_db);
    std::string const stream = unique_name("slow");
    run_coro([&]() -> awaitable<void> { co_await short_db->migrate(); });
    // Hold the position lock from another session: the append waits in its critical section.
    pqxx::connection blocker(pg_conninfo());
    {
        pqxx::nontransaction tx(blocker);
        tx.exec_params("SELECT pg_advisory_lock(25971, hashtext($1))", "\"" + schema_ + "\".events");
    }
    auto const events = batch(2);
    run_coro([&]() -> awaitable<void> {
        boost::system::error_code ec;
        std::string message;
        try {
            auto copy = events;
            co_await short_store.append(stream, expected_version::no_stream(), std::move(copy));
        } catch (es::error const& e) {
            ec = e.code();
            message = e.what();
        }
        EXPECT_EQ(ec, make_error_code(errc::timed_out)) << message;
        EXPECT_NE(message.find(stream), std::string::npos) << message;
        EXPECT_NE(message.find("PostgreSQL at 127.0.0.1"), std::string::npos) << message;
    });
    {
        pqxx::nontransaction tx(blocker);
        tx.exec("SELECT pg_advisory_unlock_all()");
    }
    run_coro([&]() -> awaitable<void> {
        EXPECT_EQ(co_await short_store.stream_version(stream), 0u);
        auto copy = events;
        auto r = co_await short_store.append(stream, expected_version::no_stream(), std::move(copy));
        EXPECT_EQ(r.stream_version, 2u);
        // The connection that timed out gave its session lock back: other writers go on.
        auto more = batch(1, 5);
        co_await store_.append(stream, expected_version::exactly(2), std::move(more));
    });
}

TEST_F(PostgresStore, HostileStreamIdsAreStoredVerbatim)
{
    std::vector<std::string> const ids{
        "x'; DROP TABLE events; --", "\"quoted\" stream", "back\\slash $1 %s {s}", "line\nbreak\ttab",
        "ü ✓ 日本", std::string(2000, 'l'), unique_name("it's") + "'); DELETE FROM streams; --"};
    run_coro([&]() -> awaitable<void> {
        for (auto const& raw : ids) {
            auto const stream = raw + unique_name("");
            auto events = batch(2);
            co_await store_.append(stream, expected_version::no_stream(), std::move(events));
            auto read = co_await store_.read_stream(stream);
            EXPECT_EQ(read.size(), 2u);
            if (!read.empty()) {
                EXPECT_EQ(read[0].stream_id, stream);
            }
            EXPECT_EQ(co_await store_.stream_version(stream), 2u);
            EXPECT_TRUE(co_await store_.stream_exists(stream));
        }
        auto stats = co_await store_.statistics();
        EXPECT_EQ(stats.streams, ids.size());
    });
}

TEST_F(PostgresStore, InvalidUtf8IsRejectedAndNothingIsWritten)
{
    std::string const stream = unique_name("utf8");
    run_coro([&]() -> awaitable<void> {
        auto events = batch(3);
        events[1].payload["bad"] = std::string("\xff\xfe broken \xc3", 12);
        boost::system::error_code ec;
        std::string message;
        try {
            co_await store_.append(stream, expected_version::no_stream(), std::move(events));
        } catch (es::error const& e) {
            ec = e.code();
            message = e.what();
        }
        EXPECT_EQ(ec, make_error_code(errc::invalid_argument)) << message;
        EXPECT_NE(message.find(stream), std::string::npos) << message;
        EXPECT_EQ(co_await store_.stream_version(stream), 0u);

        // A NUL character: valid JSON, but jsonb cannot hold it.
        auto nul = batch(1);
        nul[0].payload["nul"] = std::string("a\0b", 3);
        ec = {};
        try {
            co_await store_.append(stream, expected_version::no_stream(), std::move(nul));
        } catch (es::error const& e) {
            ec = e.code();
        }
        EXPECT_EQ(ec, make_error_code(errc::invalid_argument));

        // An invalid stream id.
        ec = {};
        auto good = batch(1);
        try {
            co_await store_.append(stream + "\xff", expected_version::any(), std::move(good));
        } catch (es::error const& e) {
            ec = e.code();
        }
        EXPECT_EQ(ec, make_error_code(errc::invalid_argument));
        EXPECT_EQ((co_await store_.statistics()).events, 0u);
        // The pool is fine afterwards.
        auto ok = batch(1);
        auto r = co_await store_.append(stream, expected_version::no_stream(), std::move(ok));
        EXPECT_EQ(r.stream_version, 1u);
    });
}

TEST_F(PostgresStore, HugePayloadRoundTrips)
{
    std::string const stream = unique_name("huge");
    run_coro([&]() -> awaitable<void> {
        auto events = batch(2);
        events[0].payload["blob"] = std::string(16 * 1024 * 1024, 'x');
        boost::json::array many;
        for (int i = 0; i < 100000; ++i)
            many.push_back(i);
        events[1].payload["many"] = std::move(many);
        auto const expected_payloads = std::vector<boost::json::object>{events[0].payload, events[1].payload};
        co_await store_.append(stream, expected_version::no_stream(), std::move(events));
        auto read = co_await store_.read_stream(stream);
        EXPECT_EQ(read.size(), 2u);
        if (read.size() == 2) {
            EXPECT_EQ(read[0].payload, expected_payloads[0]);
            EXPECT_EQ(read[1].payload, expected_payloads[1]);
        }
    });
}

TEST_F(PostgresStore, EmptyStreamIdIsRejected)
{
    run_coro([&]() -> awaitable<void> {
        auto events = batch(1);
        std::string const empty;
        EXPECT_THROW(co_await store_.append(empty, expected_version::any(), std::move(events)), es::error);
    });
}

TEST_F(PostgresStore, AnIdTwiceInOneBatchIsRejected)
{
    std::string const stream = unique_name("twice");
    run_coro([&]() -> awaitable<void> {
        auto events = batch(3);
        events[2].event_id = events[0].event_id;
        auto const id = to_string(events[0].event_id);
        std::string message;
        boost::system::error_code ec;
        try {
            co_await store_.append(stream, expected_version::no_stream(), std::move(events));
        } catch (es::error const& e) {
            ec = e.code();
            message = e.what();
        }
        EXPECT_EQ(ec, make_error_code(errc::duplicate_event_id)) << message;
        EXPECT_NE(message.find(id), std::string::npos) << message;
        EXPECT_EQ(co_await store_.stream_version(stream), 0u);
    });
}

TEST_F(PostgresStore, StreamOperations)
{
    std::string const agg = unique_name("agg");
    std::string const prefix = unique_name("ops");
    run_coro([&]() -> awaitable<void> {
        for (int i = 0; i < 3; ++i) {
            auto events = batch(4);
            for (auto& e : events)
                e.aggregate_type = i < 2 ? agg : "other";
            co_await store_.append(prefix + "-" + std::to_string(i), expected_version::no_stream(), std::move(events));
        }
        postgres::list_streams_options by_type;
        by_type.aggregate_type = agg;
        auto listed = co_await store_.list_streams(by_type);
        EXPECT_EQ(listed.size(), 2u);
        for (auto const& s : listed) {
            EXPECT_EQ(s.aggregate_type, agg);
            EXPECT_EQ(s.version, 4u);
        }
        // Paging.
        by_type.max_count = 1;
        auto page1 = co_await store_.list_streams(by_type);
        EXPECT_EQ(page1.size(), 1u);
        if (!page1.empty()) {
            by_type.after_stream_id = page1[0].stream_id;
            auto page2 = co_await store_.list_streams(by_type);
            EXPECT_EQ(page2.size(), 1u);
        }

        auto const s0 = prefix + "-0";
        co_await store_.truncate_stream(s0, 3);
        auto rest = co_await store_.read_stream(s0);
        EXPECT_EQ(rest.size(), 2u);
        if (!rest.empty()) {
            EXPECT_EQ(rest[0].stream_version, 3u);
        }
        EXPECT_EQ(co_await store_.stream_version(s0), 4u);
        read_stream_options back{0, 100, read_direction::backwards};
        auto backwards = co_await store_.read_stream(s0, back);
        EXPECT_EQ(backwards.size(), 2u);

        auto const s1 = prefix + "-1";
        co_await store_.delete_stream(s1);
        EXPECT_FALSE(co_await store_.stream_exists(s1));
        auto gone = co_await store_.read_stream(s1);
        EXPECT_TRUE(gone.empty());
        auto info = co_await store_.stream(s1);
        EXPECT_TRUE(info && info->deleted);
        postgres::list_streams_options only_agg;
        only_agg.aggregate_type = agg;
        auto visible = co_await store_.list_streams(only_agg);
        EXPECT_EQ(visible.size(), 1u);
        // The global log keeps the history; appending again goes on from the old version.
        auto again = batch(1, 50);
        auto r = co_await store_.append(s1, expected_version::exactly(4), std::move(again));
        EXPECT_EQ(r.stream_version, 5u);
        EXPECT_TRUE(co_await store_.stream_exists(s1));
        auto revived = co_await store_.read_stream(s1);
        EXPECT_EQ(revived.size(), 1u);

        std::string const missing = prefix + "-missing";
        EXPECT_THROW(co_await store_.delete_stream(missing), es::error);
        auto stats = co_await store_.statistics();
        EXPECT_EQ(stats.events, 13u);
        EXPECT_EQ(stats.streams, 3u);
    });
    // The operations are recorded.
    pqxx::connection conn(pg_conninfo());
    pqxx::nontransaction tx(conn);
    auto rows = tx.exec("SELECT operation FROM \"" + schema_ + "\".stream_operations ORDER BY id");
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0][0].as<std::string>(), "truncate");
    EXPECT_EQ(rows[1][0].as<std::string>(), "delete");
}

TEST(PostgresSchema, ConcurrentMigrationsFromSeveralProcessesApplyOnce)
{
    auto const schema = unique_schema("mig");
    std::vector<std::shared_ptr<postgres::database>> dbs;
    for (int i = 0; i < 6; ++i)
        dbs.push_back(postgres::database::create(make_test_config(schema)));
    run_coro(
        [&]() -> awaitable<void> {
            co_await run_parallel(6, [&](int i) -> awaitable<void> { co_await dbs[i]->migrate(); });
            EXPECT_EQ(co_await dbs[0]->current_schema_version(), postgres::schema_version);
        },
        std::chrono::seconds(60), 3);
    pqxx::connection conn(pg_conninfo());
    pqxx::nontransaction tx(conn);
    EXPECT_EQ(tx.exec("SELECT count(*) FROM \"" + schema + "\".schema_migrations")[0][0].as<int>(),
              postgres::schema_version);
}

TEST(PostgresSchema, UnknownSchemaVersionIsAClearError)
{
    auto const schema = unique_schema("newer");
    auto db = postgres::database::create(make_test_config(schema));
    run_coro([&]() -> awaitable<void> { co_await db->migrate(); });
    {
        pqxx::connection conn(pg_conninfo());
        pqxx::nontransaction tx(conn);
        tx.exec("INSERT INTO \"" + schema + "\".schema_migrations (version, description) VALUES (99, 'from the future')");
    }
    auto later = postgres::database::create(make_test_config(schema));
    run_coro([&]() -> awaitable<void> {
        std::string message;
        try {
            co_await later->migrate();
        } catch (es::error const& e) {
            message = e.what();
        }
        EXPECT_NE(message.find("version 99"), std::string::npos) << message;
        EXPECT_NE(message.find(schema), std::string::npos) << message;
        EXPECT_EQ(co_await later->current_schema_version(), 99);
    });
    auto cfg = make_test_config(unique_schema("absent"));
    cfg.migrate = false;
    postgres::event_store unmigrated(cfg);
    run_coro([&]() -> awaitable<void> {
        std::string const stream = "s";
        EXPECT_THROW(co_await unmigrated.stream_version(stream), es::error);
    });
}

TEST(PostgresSchema, HostileSchemaNamesAreRefused)
{
    std::vector<std::string> const names{"", "Upper", "x\"; DROP SCHEMA public; --", "with space", "1digit", std::string(64, 'a')};
    for (auto const& bad : names) {
        auto cfg = make_test_config(bad);
        EXPECT_THROW(postgres::database::create(cfg), es::error) << bad;
    }
}

TEST(PostgresConnection, UnreachableServerIsNamedInTheError)
{
    postgres::config cfg;
    cfg.conninfo = "host=127.0.0.1 port=1 dbname=nowhere connect_timeout=2";
    cfg.schema = "es";
    postgres::event_store store(cfg);
    run_coro([&]() -> awaitable<void> {
        boost::system::error_code ec;
        std::string message;
        try {
            std::string const stream = "s";
            co_await store.stream_version(stream);
        } catch (es::error const& e) {
            ec = e.code();
            message = e.what();
        }
        EXPECT_EQ(ec, make_error_code(errc::not_connected)) << message;
        EXPECT_NE(message.find("PostgreSQL at 127.0.0.1:1/nowhere"), std::string::npos) << message;
    });
}

}  // namespace
}  // namespace es::test

namespace es::test {
namespace {

TEST(PostgresConnection, KilledConnectionsAreReplaced)
{
    auto cfg = make_test_config(unique_schema("killed"));
    cfg.pool_size = 2;
    // No debounced NOTIFY after the append: when it fires after the kill, it meets the dead
    // session first and replaces it, and the reads below never see a failure (flaky).
    cfg.notify = false;
    auto db = postgres::database::create(cfg);
    postgres::event_store store(db);
    std::string const stream = unique_name("killed");
    run_coro([&]() -> awaitable<void> {
        std::vector<new_event> first{make_test_event("E", 0)};
        co_await store.append(stream, expected_version::no_stream(), std::move(first));
    });
    {
        // The server ends our pool's sessions (as an administrator or a failover would).
        pqxx::connection admin(pg_conninfo());
        pqxx::nontransaction tx(admin);
        tx.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'eventsource-cpp' AND pid <> pg_backend_pid()");
    }
    run_coro([&]() -> awaitable<void> {
        int failures = 0;
        std::uint64_t version = 0;
        for (int attempt = 0; attempt < 5; ++attempt) {
            try {
                version = co_await store.stream_version(stream);
                break;
            } catch (es::error const& e) {
                ++failures;
                EXPECT_EQ(e.code(), make_error_code(errc::not_connected)) << e.what();
                EXPECT_NE(std::string(e.what()).find("PostgreSQL at"), std::string::npos) << e.what();
            }
        }
        EXPECT_EQ(version, 1u);
        EXPECT_GE(failures, 1);  // the dead session is reported, not hidden
        EXPECT_LE(failures, 2);  // at most one per pooled connection: each is replaced
        std::vector<new_event> second{make_test_event("E", 1)};
        auto r = co_await store.append(stream, expected_version::exactly(1), std::move(second));
        EXPECT_EQ(r.stream_version, 2u);
    });
}

}  // namespace
}  // namespace es::test
