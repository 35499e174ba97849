#pragma once
// Private: what a stream_bus holds, shared by stream_bus.cpp and stream_admin.cpp.
#include "bus_context.hpp"

#include <es/redis/bus/consumer_group.hpp>
#include <es/redis/bus/stream_bus.hpp>

#include <mutex>
#include <optional>
#include <vector>

namespace es::redis {

struct stream_bus::state {
    std::shared_ptr<detail::bus_context> ctx;
    std::optional<consumer_fence> fence;
    std::mutex mutex;  // groups, started
    // Running, or asked to stop and not yet awaited (stop_consuming()).
    std::vector<std::shared_ptr<consumer_group>> groups;
    bool started = false;
    task_group maintenance;  // the retention loop, when retention is configured

    std::vector<std::shared_ptr<consumer_group>> take_groups()
    {
        std::lock_guard lock(mutex);
        started = false;
        return std::exchange(groups, {});
    }
};

namespace detail {
/// Starts the scheduled retention pass when the configuration asks for one (retention.cpp).
void start_retention(stream_bus::state& s);
}  // namespace detail

}  // namespace es::redis
