#include "stream_bus_codec.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>

namespace es::redis::detail {

field_list encode_envelope(event_envelope const& e)
{
    field_list f;
    f.reserve(12);
    f.emplace_back("event_id", to_string(e.event_id));
    f.emplace_back("event_type", e.event_type);
    f.emplace_back("schema_version", std::to_string(e.schema_version));
    f.emplace_back("stream_id", e.stream_id);
    f.emplace_back("aggregate_type", e.aggregate_type);
    f.emplace_back("aggregate_id", e.aggregate_id);
    f.emplace_back("stream_version", std::to_string(e.stream_version));
    f.emplace_back("global_position", std::to_string(e.global_position));
    f.emplace_back("occurred_at", format_timestamp(e.occurred_at));
    f.emplace_back("recorded_at", format_timestamp(e.recorded_at));
    f.emplace_back("metadata", boost::json::serialize(to_json(e.metadata)));
    f.emplace_back("payload", boost::json::serialize(e.payload));
    return f;
}

result<event_envelope> decode_envelope(stream_entry const& entry)
{
    auto bad = [&](std::string const& why) {
        return make_failure(es::errc::malformed_event, "stream entry " + entry.id + ": " + why);
    };
    if (entry.deleted)
        return bad("its data was deleted or trimmed");
    boost::json::object o;
    for (auto const& [name, value] : entry.fields) {
        if (name == "schema_version" || name == "stream_version" || name == "global_position") {
            std::uint64_t n = 0;
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            if (ec != std::errc() || end != value.data() + value.size())
                return bad("field '" + name + "' is not a non-negative integer");
            o[name] = n;
        } else if (name == "metadata" || name == "payload") {
            boost::system::error_code ec;
            auto v = boost::json::parse(value, ec);
            if (ec)
                return bad("field '" + name + "' is not JSON (" + ec.message() + ")");
            o[name] = std::move(v);
        } else if (!name.starts_with(dlq_field_prefix)) {
            o[name] = value;
        }
    }
    auto e = envelope_from_json(o);
    if (!e)
        return bad(e.error().message);
    return std::move(*e);
}

}  // namespace es::redis::detail
