// An aggregate through es::repository on the PostgreSQL store and snapshot store.
#include "../../support/test_domain.hpp"
#include "pg_support.hpp"

#include <es/postgres/snapshot_store.hpp>
#include <es/repository.hpp>

namespace es::test {
namespace {

TEST(PostgresRepository, SnapshotPlusTail)
{
    auto db = postgres::database::create(make_test_config(unique_schema("repo")));
    postgres::event_store store(db);
    postgres::snapshot_store snapshots(db);
    auto const registry = make_account_registry();
    repository_options opts;
    opts.snapshot_every = 5;
    repository<account> repo(store, registry, nullptr, &snapshots, opts);
    std::string const id = unique_name("acc");
    run_coro([&]() -> awaitable<void> {
        co_await repo.update(id, [](account& a) { a.open("alice"); });
        for (int i = 1; i <= 12; ++i)
            co_await repo.update(id, [i](account& a) { a.deposit(i); });
        account probe(id);
        auto snap = co_await snapshots.load(probe.stream_id());
        EXPECT_TRUE(snap.has_value());
        if (snap) {
            EXPECT_EQ(snap->stream_version, 10u);
            EXPECT_EQ(snap->aggregate_type, "account");
        }
        auto loaded = co_await repo.load(id);
        EXPECT_EQ(loaded.balance(), 78);
        EXPECT_EQ(loaded.version(), 13u);
        EXPECT_EQ(loaded.applied(), 3);  // only the tail after the snapshot at version 10

        // An older snapshot never replaces a newer one.
        snapshot older{probe.stream_id(), "account", 5, 1, boost::json::object{{"stale", true}}, now()};
        co_await snapshots.save(older);
        auto still = co_await snapshots.load(probe.stream_id());
        EXPECT_TRUE(still && still->stream_version == 10u);

        // Without the snapshot the whole stream is replayed to the same state.
        co_await snapshots.remove(probe.stream_id());
        auto replayed = co_await repo.load(id);
        EXPECT_EQ(replayed.balance(), 78);
        EXPECT_EQ(replayed.applied(), 13);
    });
}

}  // namespace
}  // namespace es::test
