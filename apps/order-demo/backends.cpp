// Chooses the store and the bus from the configuration. Each backend lives in its own file and is
// compiled only when its library is built (ES_DEMO_WITH_POSTGRES / ES_DEMO_WITH_REDIS).
#include "app.hpp"

#include <es/error.hpp>
#include <es/in_memory_event_bus.hpp>
#include <es/in_memory_event_store.hpp>

namespace orders {

#if ES_DEMO_WITH_POSTGRES
es::awaitable<void> add_postgres_store(app_config const& cfg, backend_parts& parts);
#endif
#if ES_DEMO_WITH_REDIS
es::awaitable<void> add_redis_bus(app_config const& cfg, backend_parts& parts);
#endif

es::awaitable<backend_parts> make_backends(app_config const& cfg, es::event_registry const& registry)
{
    (void)registry;
    backend_parts parts;
    if (cfg.store == "memory") {
        parts.store = std::make_shared<es::in_memory_event_store>();
        parts.snapshots = std::make_shared<es::in_memory_snapshot_store>();
    } else {
#if ES_DEMO_WITH_POSTGRES
        co_await add_postgres_store(cfg, parts);
#else
        throw es::error(es::errc::invalid_argument, "this build of order-demo has no PostgreSQL support");
#endif
    }
    if (cfg.bus == "memory") {
        auto bus = std::make_shared<es::in_memory_event_bus>();
        parts.publisher = bus;
        parts.projection_buses = {bus};
        parts.subscribe = [bus](std::string const&, std::shared_ptr<es::event_subscriber> s) { bus->subscribe(s); };
    } else {
#if ES_DEMO_WITH_REDIS
        co_await add_redis_bus(cfg, parts);
#else
        throw es::error(es::errc::invalid_argument, "this build of order-demo has no Redis support");
#endif
    }
    co_return parts;
}

}  // namespace orders
