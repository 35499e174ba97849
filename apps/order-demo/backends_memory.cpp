// The embedded default: in-memory store, snapshots and bus, all in this process.
#include "app.hpp"

#include <es/in_memory_event_bus.hpp>
#include <es/in_memory_event_store.hpp>

namespace orders {

backend_parts make_memory_backends()
{
    backend_parts parts;
    parts.store = std::make_shared<es::in_memory_event_store>();
    parts.snapshots = std::make_shared<es::in_memory_snapshot_store>();
    auto bus = std::make_shared<es::in_memory_event_bus>();
    parts.publisher = bus;
    parts.projection_buses = {bus};
    return parts;
}

}  // namespace orders
