// The event store conformance suite, unchanged, on PostgreSQL. All fixtures share one schema
// (the suite uses unique stream and type names); the first one migrates it.
#include "../../conformance/event_store_conformance.hpp"
#include "pg_support.hpp"

namespace {
struct postgres_store_factory {
    static std::shared_ptr<es::event_store> make()
    {
        static auto db = es::postgres::database::create(es::test::make_test_config("es_conformance"));
        return std::make_shared<es::postgres::event_store>(db);
    }
};
}  // namespace

namespace es::test {
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, EventStoreConformance, postgres_store_factory);
}  // namespace es::test

// Again with group commit on: every guarantee of the suite must hold for grouped appends.
namespace {
struct postgres_group_commit_store_factory {
    static std::shared_ptr<es::event_store> make()
    {
        static auto db = [] {
            auto cfg = es::test::make_test_config("es_conformance_group");
            cfg.group_commit.enabled = true;
            return es::postgres::database::create(cfg);
        }();
        return std::make_shared<es::postgres::event_store>(db);
    }
};
}  // namespace

namespace es::test {
INSTANTIATE_TYPED_TEST_SUITE_P(PostgresGroupCommit, EventStoreConformance, postgres_group_commit_store_factory);
}  // namespace es::test
