#include <es/event.hpp>

#include <es/detail/json.hpp>

#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>
#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <chrono>

namespace es {

timestamp now() noexcept
{
    return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

namespace {
// Hand-written because snprintf/sscanf + gmtime/timegm topped the publish profile: every
// envelope on the bus carries two timestamps each way.
void put_digits(char* out, std::int64_t value, int width) noexcept
{
    for (int i = width - 1; i >= 0; --i) {
        out[i] = static_cast<char>('0' + value % 10);
        value /= 10;
    }
}

// Reads exactly `width` digits at text[at]; -1 when any of them is not a digit.
int read_digits(std::string_view text, std::size_t at, int width) noexcept
{
    int value = 0;
    for (int i = 0; i < width; ++i) {
        char const c = text[at + static_cast<std::size_t>(i)];
        if (c < '0' || c > '9')
            return -1;
        value = value * 10 + (c - '0');
    }
    return value;
}
}  // namespace

std::string format_timestamp(timestamp t)
{
    using namespace std::chrono;
    // The years 0000-9999 are what the format (and PostgreSQL's timestamptz) can hold; checked on
    // the raw count first, so that nothing below can overflow.
    constexpr std::int64_t first_us = -62'167'219'200'000'000;  // 0000-01-01T00:00:00Z
    constexpr std::int64_t end_us = 253'402'300'800'000'000;    // 10000-01-01T00:00:00Z
    auto const count = t.time_since_epoch().count();
    if (count < first_us || count >= end_us)
        throw error(errc::invalid_argument, "timestamp " + std::to_string(count) +
                                                " us since 1970 is outside the years 0000-9999 and cannot be formatted");
    auto const day = floor<days>(t);
    year_month_day const ymd{day};
    auto const us = (t - day).count();  // microseconds since midnight, never negative
    auto const y = static_cast<int>(ymd.year());
    // YYYY-MM-DDTHH:MM:SS.ffffffZ
    std::string out(27, '\0');
    char* p = out.data();
    put_digits(p, y, 4);
    p[4] = '-';
    put_digits(p + 5, static_cast<unsigned>(ymd.month()), 2);
    p[7] = '-';
    put_digits(p + 8, static_cast<unsigned>(ymd.day()), 2);
    p[10] = 'T';
    put_digits(p + 11, us / 3'600'000'000, 2);
    p[13] = ':';
    put_digits(p + 14, us / 60'000'000 % 60, 2);
    p[16] = ':';
    put_digits(p + 17, us / 1'000'000 % 60, 2);
    p[19] = '.';
    put_digits(p + 20, us % 1'000'000, 6);
    p[26] = 'Z';
    return out;
}

result<timestamp> parse_timestamp(std::string_view text)
{
    auto bad = [&] {
        return make_failure(errc::malformed_event, "'" + std::string(text) + "' is not an ISO 8601 UTC timestamp");
    };
    // YYYY-MM-DDTHH:MM:SS[.f…]Z
    if (text.size() < 20 || text.back() != 'Z' || text[4] != '-' || text[7] != '-' || text[10] != 'T' ||
        text[13] != ':' || text[16] != ':')
        return bad();
    int const y = read_digits(text, 0, 4);
    int const mo = read_digits(text, 5, 2);
    int const d = read_digits(text, 8, 2);
    int const h = read_digits(text, 11, 2);
    int const mi = read_digits(text, 14, 2);
    int const s = read_digits(text, 17, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60)
        return bad();
    std::int64_t micros = 0;
    std::string_view rest = text.substr(19, text.size() - 20);
    if (!rest.empty()) {
        if (rest[0] != '.' || rest.size() < 2 || rest.size() > 10)
            return bad();
        int digits = 0;
        for (char c : rest.substr(1)) {
            if (c < '0' || c > '9')
                return bad();
            if (digits < 6) {
                micros = micros * 10 + (c - '0');
                ++digits;
            }
        }
        for (; digits < 6; ++digits)
            micros *= 10;
    }
    using namespace std::chrono;
    year_month_day const ymd{year(y), month(static_cast<unsigned>(mo)), day(static_cast<unsigned>(d))};
    if (!ymd.ok())
        return bad();
    auto const since_midnight = hours(h) + minutes(mi) + seconds(s) + microseconds(micros);
    return timestamp(sys_days(ymd).time_since_epoch() + since_midnight);
}

boost::uuids::uuid new_event_id()
{
    // boost::uuids::random_generator asks the kernel for entropy on every call (a getrandom
    // syscall per event); a per-thread Mersenne Twister seeded once from it is ~50x cheaper and
    // still unique with overwhelming probability.
    thread_local boost::uuids::random_generator_mt19937 generator;
    return generator();
}

result<boost::uuids::uuid> parse_uuid(std::string_view text)
{
    auto bad = [&] { return make_failure(errc::malformed_event, "'" + std::string(text) + "' is not a UUID"); };
    if (text.size() != 36)
        return bad();
    boost::uuids::uuid out{};
    std::size_t byte = 0;
    for (std::size_t i = 0; i < 36;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (text[i] != '-')
                return bad();
            ++i;
            continue;
        }
        auto hex = [](char c) -> int {
            if (c >= '0' && c <= '9') return c - '0';
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            if (c >= 'A' && c <= 'F') return c - 'A' + 10;
            return -1;
        };
        int hi = hex(text[i]), lo = hex(text[i + 1]);
        if (hi < 0 || lo < 0)
            return bad();
        out.data[byte++] = static_cast<std::uint8_t>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

boost::json::object to_json(event_metadata const& m)
{
    boost::json::object o = m.extra;
    if (!m.correlation_id.empty())
        o["correlation_id"] = m.correlation_id;
    if (!m.causation_id.empty())
        o["causation_id"] = m.causation_id;
    if (!m.tenant_id.empty())
        o["tenant_id"] = m.tenant_id;
    return o;
}

result<event_metadata> metadata_from_json(boost::json::value const& v)
{
    if (!v.is_object())
        return make_failure(errc::malformed_event, "event metadata is not a JSON object");
    event_metadata m;
    for (auto const& [key, value] : v.get_object()) {
        std::string* known = key == "correlation_id" ? &m.correlation_id
                             : key == "causation_id" ? &m.causation_id
                             : key == "tenant_id"    ? &m.tenant_id
                                                     : nullptr;
        if (known == nullptr) {
            m.extra.emplace(key, value);
        } else if (value.is_string()) {
            *known = std::string(value.get_string());
        } else {
            return make_failure(errc::malformed_event, "event metadata field '" + std::string(key) + "' is not a string");
        }
    }
    return m;
}

event_envelope make_envelope(new_event const& e, std::string stream_id, std::uint64_t stream_version,
                             std::uint64_t global_position, timestamp recorded_at)
{
    return event_envelope{e.event_id,      e.event_type,   e.schema_version, std::move(stream_id),
                          e.aggregate_type, e.aggregate_id, stream_version,   global_position,
                          e.occurred_at,   recorded_at,    e.metadata,       e.payload};
}

boost::json::object to_json(event_envelope const& e)
{
    return {
        {"event_id", to_string(e.event_id)},
        {"event_type", e.event_type},
        {"schema_version", e.schema_version},
        {"stream_id", e.stream_id},
        {"aggregate_type", e.aggregate_type},
        {"aggregate_id", e.aggregate_id},
        {"stream_version", e.stream_version},
        {"global_position", e.global_position},
        {"occurred_at", format_timestamp(e.occurred_at)},
        {"recorded_at", format_timestamp(e.recorded_at)},
        {"metadata", to_json(e.metadata)},
        {"payload", e.payload},
    };
}

namespace {
failure field_error(std::string_view field, std::string_view what)
{
    return make_failure(errc::malformed_event, "event envelope field '" + std::string(field) + "' " + std::string(what));
}

result<std::string> string_field(boost::json::object const& o, std::string_view name, bool required = true)
{
    auto const* v = o.if_contains(name);
    if (v == nullptr)
        return required ? result<std::string>(field_error(name, "is missing")) : std::string{};
    if (!v->is_string())
        return field_error(name, "is not a string");
    return std::string(v->get_string());
}

result<std::uint64_t> unsigned_field(boost::json::object const& o, std::string_view name)
{
    auto const* v = o.if_contains(name);
    if (v == nullptr)
        return field_error(name, "is missing");
    if (v->is_uint64())
        return v->get_uint64();
    if (v->is_int64() && v->get_int64() >= 0)
        return static_cast<std::uint64_t>(v->get_int64());
    return field_error(name, "is not a non-negative integer");
}
}  // namespace

result<event_envelope> envelope_from_json(boost::json::value const& v)
{
    if (!v.is_object())
        return make_failure(errc::malformed_event, "event envelope is not a JSON object");
    auto const& o = v.get_object();
    event_envelope e;

    auto id = string_field(o, "event_id");
    if (!id) return id.error();
    auto uuid = parse_uuid(*id);
    if (!uuid) return field_error("event_id", "is not a UUID: '" + *id + "'");
    e.event_id = *uuid;

    for (auto [name, target] : {std::pair{"event_type", &e.event_type}, std::pair{"stream_id", &e.stream_id}}) {
        auto s = string_field(o, name);
        if (!s) return s.error();
        if (s->empty()) return field_error(name, "is empty");
        *target = std::move(*s);
    }
    for (auto [name, target] : {std::pair{"aggregate_type", &e.aggregate_type}, std::pair{"aggregate_id", &e.aggregate_id}}) {
        auto s = string_field(o, name, false);
        if (!s) return s.error();
        *target = std::move(*s);
    }

    auto schema = unsigned_field(o, "schema_version");
    if (!schema) return schema.error();
    if (*schema == 0 || *schema > 0xFFFFFFFFu) return field_error("schema_version", "is out of range");
    e.schema_version = static_cast<std::uint32_t>(*schema);
    auto sv = unsigned_field(o, "stream_version");
    if (!sv) return sv.error();
    e.stream_version = *sv;
    auto gp = unsigned_field(o, "global_position");
    if (!gp) return gp.error();
    e.global_position = *gp;

    for (auto [name, target] : {std::pair{"occurred_at", &e.occurred_at}, std::pair{"recorded_at", &e.recorded_at}}) {
        auto s = string_field(o, name);
        if (!s) return s.error();
        auto t = parse_timestamp(*s);
        if (!t) return field_error(name, "is not an ISO 8601 UTC timestamp: '" + *s + "'");
        *target = *t;
    }

    if (auto const* m = o.if_contains("metadata")) {
        auto meta = metadata_from_json(*m);
        if (!meta) return meta.error();
        e.metadata = std::move(*meta);
    }
    auto const* payload = o.if_contains("payload");
    if (payload == nullptr) return field_error("payload", "is missing");
    if (!payload->is_object()) return field_error("payload", "is not a JSON object");
    e.payload = payload->get_object();
    return e;
}

}  // namespace es

namespace es::detail {

boost::json::value parse_json(std::string_view text, boost::system::error_code& ec)
{
    thread_local boost::json::parser parser;
    parser.reset();
    parser.write(text.data(), text.size(), ec);
    if (ec)
        return nullptr;
    return parser.release();
}

boost::json::value parse_json(std::string_view text)
{
    boost::system::error_code ec;
    auto v = parse_json(text, ec);
    if (ec)
        throw boost::system::system_error(ec, "JSON");
    return v;
}

}  // namespace es::detail
