#include "../../support/test_domain.hpp"

#include <es/event.hpp>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

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
