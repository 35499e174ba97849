#include "../../support/test_domain.hpp"

#include <es/event.hpp>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <limits>

using namespace es;

TEST(Timestamp, FormatsAndParsesWithMicroseconds)
{
    timestamp t{std::chrono::microseconds(1'795'000'000'123'456)};
    auto text = format_timestamp(t);
    EXPECT_EQ(text, "2026-11-18T11:06:40.123456Z");
    EXPECT_EQ(parse_timestamp(text).value(), t);
    EXPECT_EQ(parse_timestamp("2026-11-18T11:06:40Z").value(), timestamp{std::chrono::microseconds(1'795'000'000'000'000)});
    EXPECT_FALSE(parse_timestamp("yesterday").has_value());
    EXPECT_FALSE(parse_timestamp("2026-13-18T08:26:40Z").has_value());
    EXPECT_FALSE(parse_timestamp("2026-11-18T11:06:40.12x4Z").has_value());
}

TEST(Timestamp, HandlesCalendarEdgesAndRejectsImpossibleDates)
{
    using std::chrono::microseconds;
    EXPECT_EQ(format_timestamp(timestamp{microseconds(0)}), "1970-01-01T00:00:00.000000Z");
    EXPECT_EQ(format_timestamp(timestamp{microseconds(-1)}), "1969-12-31T23:59:59.999999Z");
    EXPECT_EQ(parse_timestamp("1969-12-31T23:59:59.999999Z").value(), timestamp{microseconds(-1)});
    auto leap = parse_timestamp("2024-02-29T12:00:00.5Z");
    ASSERT_TRUE(leap.has_value());
    EXPECT_EQ(format_timestamp(*leap), "2024-02-29T12:00:00.500000Z");
    EXPECT_FALSE(parse_timestamp("2023-02-29T12:00:00Z").has_value());
    EXPECT_FALSE(parse_timestamp("2026-11-31T00:00:00Z").has_value());
    EXPECT_FALSE(parse_timestamp("2026-11-18T24:00:00Z").has_value());
    EXPECT_FALSE(parse_timestamp("2026-11-18 11:06:40Z").has_value());
    EXPECT_FALSE(parse_timestamp("2026-11-18T11:06:40").has_value());
    EXPECT_FALSE(parse_timestamp("+026-11-18T11:06:40Z").has_value());
    EXPECT_EQ(format_timestamp(timestamp{microseconds(-62'167'219'200'000'000)}), "0000-01-01T00:00:00.000000Z");
    EXPECT_EQ(format_timestamp(timestamp{microseconds(253'402'300'799'999'999)}), "9999-12-31T23:59:59.999999Z");
    EXPECT_THROW(format_timestamp(timestamp{microseconds(253'402'300'800'000'000)}), es::error);
    EXPECT_THROW(format_timestamp(timestamp{microseconds(std::numeric_limits<std::int64_t>::min())}), es::error);
    // Every value in a wide range survives the round trip (one step of ~1.3 days and a bit).
    for (std::int64_t us = -2'000'000'000'000'000; us < 4'000'000'000'000'000; us += 113'456'789'012) {
        timestamp const t{microseconds(us)};
        ASSERT_EQ(parse_timestamp(format_timestamp(t)).value(), t) << format_timestamp(t);
    }
}

TEST(Uuid, ParsesCanonicalFormOnly)
{
    auto id = new_event_id();
    EXPECT_EQ(parse_uuid(to_string(id)).value(), id);
    EXPECT_FALSE(parse_uuid("not-a-uuid").has_value());
    EXPECT_FALSE(parse_uuid("123e4567e89b12d3a456426614174000xxxx").has_value());
}

TEST(EventEnvelope, JsonRoundTripKeepsEveryField)
{
    auto ne = test::make_test_event("TestEvent", 3);
    ne.metadata = {"c", "d", "t", {{"k", 1}}};
    ne.aggregate_id = "a-1";
    auto env = make_envelope(ne, "test-a-1", 4, 17, now());
    auto back = envelope_from_json(to_json(env));
    ASSERT_TRUE(back.has_value()) << back.error().message;
    EXPECT_EQ(*back, env);
}

TEST(EventEnvelope, MalformedJsonNamesTheField)
{
    auto env = to_json(make_envelope(test::make_test_event(), "s-1", 1, 1, now()));
    auto broken = env;
    broken.erase("payload");
    auto r = envelope_from_json(broken);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, make_error_code(errc::malformed_event));
    EXPECT_NE(r.error().message.find("'payload'"), std::string::npos) << r.error().message;

    broken = env;
    broken["stream_version"] = "three";
    r = envelope_from_json(broken);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("'stream_version'"), std::string::npos) << r.error().message;

    broken = env;
    broken["event_id"] = "nope";
    r = envelope_from_json(broken);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("'event_id'"), std::string::npos) << r.error().message;

    EXPECT_FALSE(envelope_from_json(boost::json::value(42)).has_value());
}
