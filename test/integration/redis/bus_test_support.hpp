#pragma once
// Shared by the stream bus tests: a fast config with a unique stream per test, envelopes.
#include "redis_test_support.hpp"
#include "support/test_domain.hpp"

#include <es/redis/bus/stream_bus.hpp>

#include <atomic>
#include <mutex>
#include <set>

namespace es::test {

/// Millisecond-scale intervals; every call gets its own stream prefix unless one is given.
inline redis::stream_bus_config make_bus_config(std::string prefix = {})
{
    auto conn = make_test_config();
    redis::stream_bus_config c;
    c.redis_url = "redis://127.0.0.1:" + std::to_string(conn.port);
    c.connection = conn;
    c.stream_prefix = prefix.empty() ? unique_name("bus") : prefix;
    c.consumer_group = "group-" + c.stream_prefix;
    c.block_time = std::chrono::milliseconds(200);
    c.pending_idle_time = std::chrono::milliseconds(100);
    c.recovery_interval = std::chrono::milliseconds(100);
    return c;
}

inline event_envelope test_envelope(std::string const& type, int n, std::string const& stream = "s")
{
    return make_envelope(make_test_event(type, n), stream, static_cast<std::uint64_t>(n + 1),
                         static_cast<std::uint64_t>(n + 1), now());
}

/// Event numbers a handler saw, thread-safe.
struct seen_numbers {
    std::mutex mutex;
    std::vector<int> values;
    void add(event_envelope const& e)
    {
        std::lock_guard lock(mutex);
        values.push_back(e.payload.at("n").to_number<int>());
    }
    std::size_t size()
    {
        std::lock_guard lock(mutex);
        return values.size();
    }
    std::set<int> distinct()
    {
        std::lock_guard lock(mutex);
        return {values.begin(), values.end()};
    }
    event_handler handler()
    {
        return [this](event_envelope const& e) -> awaitable<void> {
            add(e);
            co_return;
        };
    }
};

/// Ids of every client named `name` on the test server.
inline std::vector<std::string> client_ids_named(std::string const& list, std::string const& name)
{
    std::vector<std::string> ids;
    std::size_t pos = 0;
    while (pos < list.size()) {
        auto end = list.find('\n', pos);
        if (end == std::string::npos)
            end = list.size();
        auto line = list.substr(pos, end - pos);
        pos = end + 1;
        if (line.find(" name=" + name + " ") == std::string::npos)
            continue;
        auto id = line.find("id=");
        if (id != std::string::npos)
            ids.push_back(line.substr(id + 3, line.find(' ', id) - id - 3));
    }
    return ids;
}

}  // namespace es::test
