#pragma once
// Private: how an event envelope is laid out in a stream entry, one field per envelope member
// (readable with redis-cli), and back. Pure functions, unit-tested.
#include <es/event.hpp>
#include <es/redis/client/streams.hpp>

namespace es::redis::detail {

/// Field names of the envelope, in the order they are written.
field_list encode_envelope(event_envelope const& e);
/// errc::malformed_event naming the missing or bad field.
result<event_envelope> decode_envelope(stream_entry const& entry);

/// The value of field `name` of `entry` (empty when absent), without decoding the envelope.
std::string_view field_of(stream_entry const& entry, std::string_view name);

/// Fields the DLQ adds to an entry; they all start with this prefix.
inline constexpr std::string_view dlq_field_prefix = "dlq_";

}  // namespace es::redis::detail
