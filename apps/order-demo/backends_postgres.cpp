// PostgreSQL as the event and snapshot store.
#include "app.hpp"
#include "projections/order_summary_postgres.hpp"

#include <es/log.hpp>
#include <es/postgres/database.hpp>
#include <es/postgres/event_store.hpp>
#include <es/postgres/snapshot_store.hpp>

#include <spdlog/spdlog.h>

namespace orders {

es::awaitable<void> add_postgres_store(app_config const& cfg, backend_parts& parts)
{
    es::postgres::config pg;
    pg.conninfo = cfg.store;
    pg.schema = cfg.schema;
    pg.pool_size = 8;
    auto db = es::postgres::database::create(pg);
    // Migrate now so a bad URL or an unreachable server fails at start-up, not on the first request.
    co_await db->migrate();
    es::logger("order-demo")->info("event store: {} (schema \"{}\")", db->server(), pg.schema);
    parts.store = std::make_shared<es::postgres::event_store>(db);
    parts.snapshots = std::make_shared<es::postgres::snapshot_store>(db);
    auto read_model = std::make_shared<order_summary_postgres>(db, order_registry(), cfg.schema + "_views", *parts.store);
    co_await read_model->migrate();
    parts.read_model = read_model;
    parts.ready = [store = parts.store]() -> es::awaitable<bool> {
        bool ok = true;
        try {
            co_await store->stream_version("readyz-probe");
        } catch (std::exception const&) {
            ok = false;
        }
        co_return ok;
    };
}

}  // namespace orders
