#pragma once
// Snapshots: an aggregate's state at a stream version, so loading reads only the events after it.
#include <es/asio.hpp>
#include <es/event.hpp>

#include <boost/json/value.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace es {

struct snapshot {
    std::string stream_id;
    std::string aggregate_type;
    std::uint64_t stream_version = 0;  ///< the state includes every event up to this version
    std::uint32_t schema_version = 1;  ///< of the state's shape; a mismatch makes loaders ignore it
    boost::json::value state;
    timestamp taken_at{};
};

class snapshot_store {
public:
    virtual ~snapshot_store() = default;
    /// Keeps `s` as the stream's newest snapshot unless a newer one is already stored.
    virtual awaitable<void> save(snapshot s) = 0;
    /// The newest snapshot of the stream, if any.
    virtual awaitable<std::optional<snapshot>> load(std::string stream_id) = 0;
    /// Forgets the stream's snapshot (after a schema change, say).
    virtual awaitable<void> remove(std::string stream_id) = 0;
};

/// Snapshots in process memory; safe to share between threads.
class in_memory_snapshot_store final : public snapshot_store {
public:
    awaitable<void> save(snapshot s) override;
    awaitable<std::optional<snapshot>> load(std::string stream_id) override;
    awaitable<void> remove(std::string stream_id) override;

private:
    std::mutex mutex_;
    std::map<std::string, snapshot, std::less<>> snapshots_;
};

}  // namespace es
