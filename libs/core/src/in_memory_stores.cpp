// The small in-memory stores: snapshots and checkpoints.
#include <es/checkpoint_store.hpp>
#include <es/snapshot_store.hpp>

namespace es {

awaitable<void> in_memory_snapshot_store::save(snapshot s)
{
    std::lock_guard lock(mutex_);
    auto it = snapshots_.find(s.stream_id);
    if (it == snapshots_.end())
        snapshots_.emplace(s.stream_id, std::move(s));
    else if (it->second.stream_version <= s.stream_version)
        it->second = std::move(s);
    co_return;
}

awaitable<std::optional<snapshot>> in_memory_snapshot_store::load(std::string stream_id)
{
    std::lock_guard lock(mutex_);
    auto it = snapshots_.find(stream_id);
    if (it == snapshots_.end())
        co_return std::nullopt;
    co_return it->second;
}

awaitable<void> in_memory_snapshot_store::remove(std::string stream_id)
{
    std::lock_guard lock(mutex_);
    snapshots_.erase(stream_id);
    co_return;
}

awaitable<std::optional<std::uint64_t>> in_memory_checkpoint_store::load(std::string name)
{
    std::lock_guard lock(mutex_);
    auto it = positions_.find(name);
    if (it == positions_.end())
        co_return std::nullopt;
    co_return it->second;
}

awaitable<void> in_memory_checkpoint_store::save(std::string name, std::uint64_t position)
{
    std::lock_guard lock(mutex_);
    positions_[std::move(name)] = position;
    co_return;
}

}  // namespace es
