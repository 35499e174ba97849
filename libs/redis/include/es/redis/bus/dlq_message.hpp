#pragma once
// A dead letter: an entry a consumer group gave up on, with why and when.
#include <es/redis/client/streams.hpp>

#include <cstdint>
#include <string>

namespace es::redis {

/// A DLQ entry: the original fields plus why and when it was dead-lettered.
struct dlq_message {
    std::string message_id;                ///< id in the DLQ stream
    std::string original_id;               ///< id it had in the main stream
    std::string group;                     ///< the consumer group that gave up on it
    std::string event_type;                ///< empty for undecodable entries without a type field
    std::string reason;
    std::uint64_t retry_count = 0;         ///< retries made before it was dead-lettered (0: none)
    std::string failed_at;                 ///< ISO 8601
    field_list original_fields;
};

}  // namespace es::redis
