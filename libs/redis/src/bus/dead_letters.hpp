#pragma once
// Private: the dead-letter stream of a bus: writing a dead letter (with the acknowledgement, in
// one transaction), reading, replaying to the group that gave up, purging.
#include "bus_context.hpp"

#include <es/redis/bus/dlq_message.hpp>

#include <vector>

namespace es::redis::detail {

/// Copies `entry` to the DLQ with why, acknowledges it in `group` and forgets its failure count,
/// atomically (MULTI/EXEC).
awaitable<void> dead_letter(bus_context& bus, std::string const& group, stream_entry const& entry, std::string reason,
                            std::uint64_t retry_count);

dlq_message to_dlq_message(stream_entry const& e);

awaitable<std::vector<dlq_message>> read_dead_letters(bus_context& bus, std::size_t count, std::string from_id,
                                                      std::string to_id);

/// Re-adds one dead letter to the stream for its own group only (the other groups acknowledge
/// it unhandled) and removes it from the DLQ, atomically. False when there is no such entry.
awaitable<bool> replay_dead_letter(bus_context& bus, std::string dlq_id);

/// Replays the dead letters present when it starts (up to the DLQ's last id then): entries that
/// fail again and come back are not replayed a second time. Returns how many.
awaitable<std::size_t> replay_all_dead_letters(bus_context& bus);

/// Deletes the DLQ; returns how many entries it had.
awaitable<std::size_t> purge_dead_letters(bus_context& bus);

}  // namespace es::redis::detail
