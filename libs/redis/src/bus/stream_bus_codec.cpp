#include "stream_bus_codec.hpp"

#include <es/detail/json.hpp>

#include <boost/json/serialize.hpp>

#include <charconv>

namespace es::redis::detail {

std::string_view field_of(stream_entry const& entry, std::string_view name)
{
    for (auto const& [k, v] : entry.fields)
        if (k == name)
            return v;
    return {};
}

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

// Decodes field by field, straight into the envelope (no intermediate JSON object: this runs
// once per delivered entry), with the same checks as envelope_from_json().
result<event_envelope> decode_envelope(stream_entry const& entry)
{
    auto bad = [&](std::string const& why) {
        return make_failure(es::errc::malformed_event, "stream entry " + entry.id + ": " + why);
    };
    if (entry.deleted)
        return bad("its data was deleted or trimmed");
    enum : unsigned {
        f_id = 1, f_type = 2, f_stream = 4, f_schema = 8, f_sv = 16, f_gp = 32, f_occ = 64, f_rec = 128, f_payload = 256,
        f_agg_type = 512, f_agg_id = 1024
    };
    unsigned seen = 0;
    event_envelope e;
    auto number = [](std::string const& v, std::uint64_t& out) {
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
        return ec == std::errc() && end == v.data() + v.size() && !v.empty();
    };
    for (auto const& [name, value] : entry.fields) {
        if (name == "event_id") {
            auto id = parse_uuid(value);
            if (!id)
                return bad("field 'event_id' is not a UUID: '" + value.substr(0, 64) + "'");
            e.event_id = *id;
            seen |= f_id;
        } else if (name == "event_type") {
            e.event_type = value;
            seen |= f_type;
        } else if (name == "stream_id") {
            e.stream_id = value;
            seen |= f_stream;
        } else if (name == "aggregate_type") {
            e.aggregate_type = value;
            seen |= f_agg_type;
        } else if (name == "aggregate_id") {
            e.aggregate_id = value;
            seen |= f_agg_id;
        } else if (name == "schema_version" || name == "stream_version" || name == "global_position") {
            std::uint64_t n = 0;
            if (!number(value, n))
                return bad("field '" + name + "' is not a non-negative integer");
            if (name == "schema_version") {
                if (n == 0 || n > 0xFFFFFFFFu)
                    return bad("field 'schema_version' is out of range");
                e.schema_version = static_cast<std::uint32_t>(n);
                seen |= f_schema;
            } else if (name == "stream_version") {
                e.stream_version = n;
                seen |= f_sv;
            } else {
                e.global_position = n;
                seen |= f_gp;
            }
        } else if (name == "occurred_at" || name == "recorded_at") {
            auto t = parse_timestamp(value);
            if (!t)
                return bad("field '" + name + "' is not an ISO 8601 UTC timestamp: '" + value.substr(0, 64) + "'");
            (name == "occurred_at" ? e.occurred_at : e.recorded_at) = *t;
            seen |= name == "occurred_at" ? f_occ : f_rec;
        } else if (name == "metadata" || name == "payload") {
            boost::system::error_code ec;
            auto v = es::detail::parse_json(value, ec);
            if (ec)
                return bad("field '" + name + "' is not JSON (" + ec.message() + ")");
            if (name == "metadata") {
                auto m = metadata_from_json(v);
                if (!m)
                    return bad(m.error().message);
                e.metadata = std::move(*m);
            } else {
                if (!v.is_object())
                    return bad("field 'payload' is not a JSON object");
                e.payload = std::move(v.get_object());
                seen |= f_payload;
            }
        }
    }
    static constexpr std::pair<unsigned, char const*> required[] = {
        {f_id, "event_id"},        {f_type, "event_type"},       {f_stream, "stream_id"},
        {f_schema, "schema_version"}, {f_sv, "stream_version"},  {f_gp, "global_position"},
        {f_occ, "occurred_at"},    {f_rec, "recorded_at"},       {f_payload, "payload"},
        // Written by every publisher (possibly empty): an entry without them was not written by
        // a bus, and handlers keyed on the aggregate must not see it.
        {f_agg_type, "aggregate_type"}, {f_agg_id, "aggregate_id"}};
    for (auto [bit, field] : required)
        if ((seen & bit) == 0)
            return bad(std::string("field '") + field + "' is missing");
    if (e.event_type.empty())
        return bad("field 'event_type' is empty");
    if (e.stream_id.empty())
        return bad("field 'stream_id' is empty");
    return e;
}

}  // namespace es::redis::detail
