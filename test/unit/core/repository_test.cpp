#include "../../support/run_coro.hpp"
#include "../../support/test_domain.hpp"

#include <es/in_memory_event_bus.hpp>
#include <es/in_memory_event_store.hpp>
#include <es/log.hpp>
#include <es/repository.hpp>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <stdexcept>

using namespace es;
using namespace es::test;

namespace {
// Counts reads so tests can see that a snapshot shortens loading.
class counting_store final : public event_store {
public:
    using event_store::read_all;
    using event_store::read_stream;
    awaitable<append_result> append(std::string s, expected_version e, std::vector<new_event> ev) override
    {
        co_return co_await inner.append(std::move(s), e, std::move(ev));
    }
    awaitable<std::vector<event_envelope>> read_stream(std::string s, read_stream_options o) override
    {
        auto r = co_await inner.read_stream(std::move(s), o);
        events_read += r.size();
        co_return r;
    }
    awaitable<std::vector<event_envelope>> read_all(read_all_options o) override { co_return co_await inner.read_all(o); }
    awaitable<std::uint64_t> stream_version(std::string s) override { co_return co_await inner.stream_version(std::move(s)); }

    in_memory_event_store inner;
    std::size_t events_read = 0;
};

// A snapshot store whose writes always fail.
class failing_snapshot_store final : public snapshot_store {
public:
    awaitable<void> save(snapshot) override
    {
        ++saves;
        throw std::runtime_error("snapshot disk full");
        co_return;
    }
    awaitable<std::optional<snapshot>> load(std::string) override { co_return std::nullopt; }
    awaitable<void> remove(std::string) override { co_return; }

    int saves = 0;
};

struct fixture : ::testing::Test {
    in_memory_event_store store;
    in_memory_event_bus bus;
    event_registry registry = make_account_registry();
};
}  // namespace

TEST_F(fixture, SaveThenLoadRebuildsTheAggregate)
{
    run_coro([&]() -> awaitable<void> {
        repository<account> repo(store, registry, &bus);
        account a("a1");
        a.open("ada");
        a.deposit(100);
        event_metadata meta;
        meta.correlation_id = "corr-1";
        auto r = co_await repo.save(a, meta);
        EXPECT_EQ(r.stream_version, 2u);
        EXPECT_TRUE(a.pending_events().empty());
        auto loaded = co_await repo.load("a1");
        EXPECT_EQ(loaded.balance(), 100);
        EXPECT_EQ(loaded.version(), 2u);
        EXPECT_EQ(loaded.owner(), "ada");
        EXPECT_TRUE(co_await repo.exists("a1"));
        EXPECT_FALSE(co_await repo.exists("nobody"));
        auto stored = co_await store.read_stream("account-a1");
        EXPECT_EQ(stored[0].aggregate_type, "account");
        EXPECT_EQ(stored[0].aggregate_id, "a1");
        EXPECT_EQ(stored[0].metadata.correlation_id, "corr-1");
    });
}

TEST_F(fixture, LoadOfAMissingAggregateThrowsNotFound)
{
    run_coro([&]() -> awaitable<void> {
        repository<account> repo(store, registry);
        EXPECT_THROW(co_await repo.load("ghost"), not_found_error);
        auto fresh = co_await repo.load_or_create("ghost");
        EXPECT_EQ(fresh.version(), 0u);
    });
}

TEST_F(fixture, SavePublishesExactlyWhatWasStored)
{
    run_coro([&]() -> awaitable<void> {
        std::vector<event_envelope> published;
        bus.subscribe_all([&](event_envelope const& e) -> awaitable<void> {
            published.push_back(e);
            co_return;
        });
        repository<account> repo(store, registry, &bus);
        account a("a1");
        a.open("ada");
        a.deposit(5);
        co_await repo.save(a);
        auto stored = co_await store.read_stream("account-a1");
        EXPECT_EQ(published, stored);
        EXPECT_GT(published.at(1).global_position, 0u);
    });
}

TEST_F(fixture, StaleSaveThrowsConcurrencyErrorAndKeepsPendingEvents)
{
    run_coro([&]() -> awaitable<void> {
        repository<account> repo(store, registry);
        account a("a1");
        a.open("ada");
        co_await repo.save(a);
        auto first = co_await repo.load("a1");
        auto second = co_await repo.load("a1");
        first.deposit(1);
        second.deposit(2);
        co_await repo.save(first);
        EXPECT_THROW(co_await repo.save(second), concurrency_error);
        EXPECT_EQ(second.pending_events().size(), 1u);
    });
}

TEST_F(fixture, UpdateRetriesOnConflict)
{
    run_coro([&]() -> awaitable<void> {
        repository<account> repo(store, registry);
        account a("a1");
        a.open("ada");
        co_await repo.save(a);
        int calls = 0;
        auto updated = co_await repo.update("a1", [&](account& acc) {
            if (++calls == 1) {
                // Another writer sneaks in between our load and our save.
                store.append_now("account-a1", expected_version::any(),
                                 {event_registry::encode(money_deposited{1000, "EUR", {}})});
            }
            acc.deposit(1);
        });
        EXPECT_EQ(calls, 2);
        EXPECT_EQ(updated.balance(), 1001);
        EXPECT_EQ(co_await store.stream_version("account-a1"), 3u);
    });
}

TEST_F(fixture, UpdateGivesUpAfterMaxAttempts)
{
    run_coro([&]() -> awaitable<void> {
        repository<account> repo(store, registry, nullptr, nullptr, {.max_update_attempts = 2});
        account a("a1");
        a.open("ada");
        co_await repo.save(a);
        int calls = 0;
        EXPECT_THROW(co_await repo.update("a1",
                                          [&](account& acc) {
                                              ++calls;
                                              store.append_now("account-a1", expected_version::any(),
                                                               {event_registry::encode(money_withdrawn{1})});
                                              acc.deposit(1);
                                          }),
                     concurrency_error);
        EXPECT_EQ(calls, 2);
    });
}

TEST_F(fixture, DomainErrorInUpdateIsNotRetried)
{
    run_coro([&]() -> awaitable<void> {
        repository<account> repo(store, registry);
        int calls = 0;
        EXPECT_THROW(co_await repo.update("new", [&](account& acc) {
            ++calls;
            acc.deposit(1);  // not open
        }),
                     domain_error);
        EXPECT_EQ(calls, 1);
    });
}

TEST(RepositorySnapshots, LoadReadsOnlyTheTailAfterTheSnapshot)
{
    run_coro([&]() -> awaitable<void> {
        counting_store store;
        in_memory_snapshot_store snapshots;
        auto registry = make_account_registry();
        repository<account> repo(store, registry, nullptr, &snapshots, {.snapshot_every = 10});
        account a("s1");
        a.open("ada");
        co_await repo.save(a);
        for (int i = 0; i < 12; ++i) {
            auto acc = co_await repo.load("s1");
            acc.deposit(1);
            co_await repo.save(acc);
        }
        // 13 events; the save that reached version 10 took a snapshot.
        auto snap = co_await snapshots.load("account-s1");
        EXPECT_TRUE(snap.has_value());
        if (snap) {
            EXPECT_EQ(snap->stream_version, 10u);
        }
        store.events_read = 0;
        auto loaded = co_await repo.load("s1");
        EXPECT_EQ(loaded.balance(), 12);
        EXPECT_EQ(loaded.version(), 13u);
        EXPECT_EQ(store.events_read, 3u);
        // State comes from the snapshot: only the tail was applied.
        EXPECT_EQ(loaded.applied(), 3);
    });
}

TEST_F(fixture, FailedSnapshotWriteIsLoggedAndCountedAndTheEventsAreStillPublished)
{
    // Capture what the repository logs on "es.core".
    std::ostringstream logged;
    auto const log = es::logger("es.core");
    auto const sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(logged);
    log->sinks().push_back(sink);
    run_coro([&]() -> awaitable<void> {
        std::vector<event_envelope> published;
        bus.subscribe_all([&](event_envelope const& e) -> awaitable<void> {
            published.push_back(e);
            co_return;
        });
        failing_snapshot_store snapshots;
        repository<account> repo(store, registry, &bus, &snapshots, {.snapshot_every = 2});
        account a("snap-fail");
        a.open("ada");
        a.deposit(7);
        auto const result = co_await repo.save(a);  // crosses version 2: takes a snapshot, which fails
        EXPECT_EQ(snapshots.saves, 1);
        EXPECT_EQ(result.stream_version, 2u);
        EXPECT_TRUE(a.pending_events().empty());
        auto const stored = co_await store.read_stream("account-snap-fail");
        EXPECT_EQ(stored.size(), 2u);
        EXPECT_EQ(published, stored);
        EXPECT_EQ(repo.snapshot_failures(), 1u);
    });
    std::erase(log->sinks(), sink);
    auto const text = logged.str();
    EXPECT_NE(text.find("account 'snap-fail'"), std::string::npos) << text;
    EXPECT_NE(text.find("snapshot disk full"), std::string::npos) << text;
}

TEST(RepositorySnapshots, SnapshotOfAnotherSchemaVersionIsIgnored)
{
    run_coro([&]() -> awaitable<void> {
        in_memory_event_store store;
        in_memory_snapshot_store snapshots;
        auto registry = make_account_registry();
        repository<account> repo(store, registry, nullptr, &snapshots);
        account a("s2");
        a.open("ada");
        a.deposit(4);
        co_await repo.save(a);
        snapshot wrong_schema{"account-s2", "account", 2, 99, boost::json::object{{"garbage", true}}, now()};
        co_await snapshots.save(wrong_schema);
        auto loaded = co_await repo.load("s2");
        EXPECT_EQ(loaded.balance(), 4);
        EXPECT_EQ(loaded.applied(), 2);
    });
}

TEST(RepositoryLoad, UndecodableEventIsAClearError)
{
    run_coro([&]() -> awaitable<void> {
        in_memory_event_store store;
        auto registry = make_account_registry();
        repository<account> repo(store, registry);
        store.append_now("account-bad", expected_version::any(), {make_test_event("Surprise")});
        std::string what;
        try {
            co_await repo.load("bad");
        } catch (es::error const& e) {
            what = e.what();
        }
        EXPECT_NE(what.find("Surprise"), std::string::npos) << what;
    });
}
