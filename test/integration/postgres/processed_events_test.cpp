// Consumer idempotency in PostgreSQL: mark_processed in the handler's own transaction
// (exactly-once effect) and processed_event_store for es::idempotent_handler.
#include "../../conformance/processed_event_store_conformance.hpp"
#include "../../support/test_domain.hpp"
#include "pg_support.hpp"

#include <es/postgres/processed_event_store.hpp>

#include <boost/uuid/random_generator.hpp>
#include <pqxx/pqxx>

namespace es::test {

// With linkage: the suite's coroutines hold lambdas of these types (-Wsubobject-linkage).
struct postgres_processed_factory {
    static awaitable<std::shared_ptr<es::processed_event_store>> make()
    {
        auto db = postgres::database::create(make_test_config(unique_schema("claims")));
        co_await db->migrate();
        co_return std::make_shared<postgres::processed_event_store>(db);
    }
};
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, ProcessedEventStoreConformance, postgres_processed_factory);

namespace {

class PostgresProcessedEvents : public ::testing::Test {
protected:
    std::string schema_ = unique_schema("processed");
    std::shared_ptr<postgres::database> db_ = postgres::database::create(make_test_config(schema_));

    void SetUp() override
    {
        run_coro([&]() -> awaitable<void> {
            co_await db_->migrate();
            auto const table = db_->quoted_schema() + ".effects";
            co_await db_->run("create effects", [&](pqxx::connection& c) {
                pqxx::nontransaction tx(c);
                tx.exec("CREATE TABLE " + table + " (id int PRIMARY KEY, n int NOT NULL)");
                tx.exec("INSERT INTO " + table + " VALUES (1, 0)");
            });
        });
    }

    // A handler's effect and its mark in one transaction; `fail` rolls both back.
    awaitable<bool> handle(boost::uuids::uuid id, bool fail)
    {
        auto const schema = schema_;
        auto const table = db_->quoted_schema() + ".effects";
        co_return co_await db_->run("handle", [&](pqxx::connection& c) {
            pqxx::work tx(c);
            if (!postgres::mark_processed(tx, schema, "counter", id))
                return false;
            tx.exec("UPDATE " + table + " SET n = n + 1 WHERE id = 1");
            if (fail)
                return true;  // no commit: the transaction is rolled back
            tx.commit();
            return true;
        });
    }

    awaitable<int> effect()
    {
        auto const table = db_->quoted_schema() + ".effects";
        co_return co_await db_->run("read effect", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            return tx.exec("SELECT n FROM " + table)[0][0].as<int>();
        });
    }
};

TEST_F(PostgresProcessedEvents, MarkInTheHandlersTransactionGivesExactlyOnceEffects)
{
    run_coro([&]() -> awaitable<void> {
        auto const a = boost::uuids::random_generator()();
        auto const b = boost::uuids::random_generator()();
        EXPECT_TRUE(co_await handle(a, false));
        EXPECT_FALSE(co_await handle(a, false));  // redelivery: skipped
        EXPECT_FALSE(co_await handle(a, false));
        EXPECT_EQ(co_await effect(), 1);
        // A crash before commit loses the mark with the effect: the event is processed again.
        EXPECT_TRUE(co_await handle(b, true));
        EXPECT_EQ(co_await effect(), 1);
        EXPECT_TRUE(co_await handle(b, false));
        EXPECT_EQ(co_await effect(), 2);
        // Another consumer has its own record.
        auto const schema = schema_;
        bool const other = co_await db_->run("other consumer", [&](pqxx::connection& c) {
            pqxx::work tx(c);
            bool const r = postgres::mark_processed(tx, schema, "other", a);
            tx.commit();
            return r;
        });
        EXPECT_TRUE(other);
    });
}

TEST_F(PostgresProcessedEvents, ConcurrentRedeliveriesApplyOnce)
{
    run_coro(
        [&]() -> awaitable<void> {
            auto const id = boost::uuids::random_generator()();
            std::atomic<int> applied{0};
            co_await run_parallel(8, [&](int) -> awaitable<void> {
                if (co_await handle(id, false))
                    ++applied;
            });
            EXPECT_EQ(applied.load(), 1);
            EXPECT_EQ(co_await effect(), 1);
        },
        std::chrono::seconds(30), 2);
}

TEST_F(PostgresProcessedEvents, StoreBacksTheIdempotentHandler)
{
    run_coro([&]() -> awaitable<void> {
        auto store = std::make_shared<postgres::processed_event_store>(db_);
        auto const id = boost::uuids::random_generator()();
        EXPECT_FALSE(co_await store->contains("c1", id));
        co_await store->remember("c1", id);
        co_await store->remember("c1", id);  // twice is fine
        EXPECT_TRUE(co_await store->contains("c1", id));
        EXPECT_FALSE(co_await store->contains("c2", id));

        int calls = 0;
        auto stats = std::make_shared<idempotency_stats>();
        event_handler counting = [&calls](event_envelope const&) -> awaitable<void> {
            ++calls;
            co_return;
        };
        auto handler = idempotent_handler(store, "c3", counting, stats);
        event_envelope e;
        e.event_id = boost::uuids::random_generator()();
        co_await handler(e);
        co_await handler(e);
        EXPECT_EQ(calls, 1);
        EXPECT_EQ(stats->skipped.load(), 1u);
        EXPECT_EQ(co_await store->forget_older_than("c3", std::chrono::seconds(3600)), 0u);
        EXPECT_EQ(co_await store->forget_older_than("c3", std::chrono::seconds(0)), 1u);
        EXPECT_FALSE(co_await store->contains("c3", e.event_id));
    });
}

TEST_F(PostgresProcessedEvents, HostileSchemaNameIsRefused)
{
    run_coro([&]() -> awaitable<void> {
        bool refused = false;
        try {
            co_await db_->run("hostile", [](pqxx::connection& c) {
                pqxx::work tx(c);
                postgres::mark_processed(tx, "x\"; DROP TABLE y; --", "c", boost::uuids::uuid());
            });
        } catch (es::error const&) {
            refused = true;
        }
        EXPECT_TRUE(refused);
    });
}

}  // namespace
}  // namespace es::test
