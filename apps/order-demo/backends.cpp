// Chooses the store and bus from the configuration.
#include "app.hpp"

#include <es/error.hpp>

namespace orders {

backend_parts make_memory_backends();

es::awaitable<backend_parts> make_backends(app_config const& cfg, es::event_registry const& registry)
{
    (void)registry;
    if (cfg.store == "memory" && cfg.bus == "memory")
        co_return make_memory_backends();
    throw es::error(es::errc::invalid_argument, "this build of order-demo supports only --store memory --bus memory");
}

}  // namespace orders
