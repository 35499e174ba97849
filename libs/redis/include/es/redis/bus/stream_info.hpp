#pragma once
// What a stream bus reports about its stream: groups, consumers, lag, the DLQ; stored events.
#include <es/event.hpp>
#include <es/redis/client/streams.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace es::redis {

struct group_status {
    std::string name;
    std::uint64_t consumers = 0;
    std::uint64_t pending = 0;
    std::string last_delivered_id;
    std::optional<std::uint64_t> lag;      ///< entries not yet delivered to the group (Redis 7)
    std::vector<consumer_info> consumer_list;
};

struct stream_bus_info {
    std::string stream;
    std::uint64_t length = 0;
    std::string first_id;                  ///< empty when the stream is empty
    std::string last_id;
    std::vector<group_status> groups;
    std::uint64_t total_pending = 0;
    std::string dlq_stream;
    std::uint64_t dlq_length = 0;
};

/// An event from the stream with its message id.
struct stored_event {
    std::string message_id;
    event_envelope event;
};

/// What a retention pass did.
struct retention_result {
    std::int64_t removed = 0;
    std::string kept_from;                 ///< entries below this id were removed (empty: nothing to do)
    bool limited_by_groups = false;        ///< a group's undelivered or pending entries stopped it short
};

/// An entry a consumer group has delivered and not yet acknowledged.
struct pending_event {
    std::string message_id;
    std::string consumer;                  ///< who holds it
    std::chrono::milliseconds idle{0};     ///< since it was last delivered (or its handler was seen alive)
    std::uint64_t deliveries = 0;          ///< times Redis delivered it (take-overs included)
    std::uint64_t failures = 0;            ///< handler failures recorded for it (what max_retries counts)
};

}  // namespace es::redis
