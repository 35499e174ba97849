#pragma once
// The event envelope: what the store keeps and the bus carries around a payload.
#include <es/error.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/uuid/uuid.hpp>
#include <boost/uuid/uuid_io.hpp>  // to_string(uuid), found by ADL

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace es {

/// UTC time with microsecond precision, as PostgreSQL stores it.
using timestamp = std::chrono::time_point<std::chrono::system_clock, std::chrono::microseconds>;

/// The current UTC time truncated to microseconds.
timestamp now() noexcept;
/// ISO 8601 with microseconds and a Z suffix: "2026-11-22T10:04:05.123456Z". Throws es::error
/// (invalid_argument) for a time outside the years 0000-9999, which the format cannot hold.
std::string format_timestamp(timestamp t);
/// Parses what format_timestamp writes (also without fraction); an error for anything else.
result<timestamp> parse_timestamp(std::string_view text);

/// A new random (version 4) UUID.
boost::uuids::uuid new_event_id();
/// Parses the canonical 36-character form; an error for anything else.
result<boost::uuids::uuid> parse_uuid(std::string_view text);

/// Who caused an event and in which context. Free keys travel in `extra`.
struct event_metadata {
    std::string correlation_id;
    std::string causation_id;
    std::string tenant_id;
    boost::json::object extra;

    friend bool operator==(event_metadata const&, event_metadata const&) = default;
};

boost::json::object to_json(event_metadata const& m);
result<event_metadata> metadata_from_json(boost::json::value const& v);

/// What a writer appends: the payload and its identity, without positions.
struct new_event {
    boost::uuids::uuid event_id = new_event_id();  ///< makes appends idempotent
    std::string event_type;                        ///< registry name, "OrderPlaced"
    std::uint32_t schema_version = 1;              ///< version of the payload's shape
    std::string aggregate_type;                    ///< "order"; may be empty for non-aggregate streams
    std::string aggregate_id;
    timestamp occurred_at = now();
    event_metadata metadata;
    boost::json::object payload;
};

/// A stored event: the payload plus where and when it was stored.
struct event_envelope {
    boost::uuids::uuid event_id{};
    std::string event_type;
    std::uint32_t schema_version = 1;
    std::string stream_id;                ///< "order-3f2c…"
    std::string aggregate_type;
    std::string aggregate_id;
    std::uint64_t stream_version = 0;     ///< 1-based position in its stream
    std::uint64_t global_position = 0;    ///< store-wide order; 0 until stored
    timestamp occurred_at{};
    timestamp recorded_at{};
    event_metadata metadata;
    boost::json::object payload;

    friend bool operator==(event_envelope const&, event_envelope const&) = default;
};

/// Builds the envelope the store will keep for `e` (positions and recorded time filled in by it).
event_envelope make_envelope(new_event const& e, std::string stream_id, std::uint64_t stream_version,
                             std::uint64_t global_position, timestamp recorded_at);

/// The whole envelope as one JSON object (used on the bus and over HTTP).
boost::json::object to_json(event_envelope const& e);
/// The inverse of to_json; errc::malformed_event naming the offending field otherwise.
result<event_envelope> envelope_from_json(boost::json::value const& v);

}  // namespace es
