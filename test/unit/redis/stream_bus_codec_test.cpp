// How the stream bus lays an envelope out in stream entry fields, and back (no server).
#include "../../../libs/redis/src/bus/stream_bus_codec.hpp"
#include "support/test_domain.hpp"

#include <gtest/gtest.h>

namespace {
using namespace es;

redis::stream_entry entry_of(redis::field_list fields)
{
    return redis::stream_entry{"1-0", std::move(fields), false};
}

TEST(StreamBusCodec, EnvelopeRoundTripsThroughEntryFields)
{
    auto ne = es::test::make_test_event("OrderPlaced", 3);
    ne.metadata.tenant_id = "t-1";
    ne.metadata.extra["trace"] = "abc";
    ne.payload["text"] = std::string("nul \0 and \xc3\xbc", 12);  // JSON strings may hold NUL and UTF-8
    auto e = make_envelope(ne, "order-1", 4, 99, now());
    auto fields = redis::detail::encode_envelope(e);
    EXPECT_EQ(fields.at(1).first, "event_type");
    auto back = redis::detail::decode_envelope(entry_of(fields));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, e);
}

TEST(StreamBusCodec, DlqFieldsAreIgnoredWhenDecoding)
{
    auto e = make_envelope(es::test::make_test_event("T", 1), "s", 1, 1, now());
    auto fields = redis::detail::encode_envelope(e);
    fields.emplace_back("dlq_reason", "handler failed");
    auto back = redis::detail::decode_envelope(entry_of(fields));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, e);
}

TEST(StreamBusCodec, MalformedEntriesNameTheField)
{
    auto e = make_envelope(es::test::make_test_event("T", 1), "s", 1, 1, now());
    auto good = redis::detail::encode_envelope(e);
    auto with = [&](std::string const& name, std::string value) {
        auto f = good;
        for (auto& [k, v] : f)
            if (k == name)
                v = std::move(value);
        return redis::detail::decode_envelope(entry_of(f));
    };
    auto not_json = with("payload", "{truncated");
    ASSERT_FALSE(not_json);
    EXPECT_EQ(not_json.error().code, es::errc::malformed_event);
    EXPECT_NE(not_json.error().message.find("payload"), std::string::npos);
    auto bad_number = with("stream_version", "-1");
    ASSERT_FALSE(bad_number);
    EXPECT_NE(bad_number.error().message.find("stream_version"), std::string::npos);
    auto bad_id = with("event_id", "nope");
    ASSERT_FALSE(bad_id);
    EXPECT_NE(bad_id.error().message.find("event_id"), std::string::npos);
    auto missing = redis::detail::decode_envelope(entry_of({{"event_type", "T"}}));
    ASSERT_FALSE(missing);
    redis::stream_entry deleted{"2-0", {}, true};
    EXPECT_FALSE(redis::detail::decode_envelope(deleted));
}

// A forged entry (XADD by anything but a bus) that lacks the aggregate fields is not an event.
TEST(StreamBusCodec, EntriesWithoutTheAggregateFieldsAreRejected)
{
    auto e = make_envelope(es::test::make_test_event("T", 1), "s", 1, 1, now());
    for (std::string dropped : {"aggregate_id", "aggregate_type"}) {
        auto f = redis::detail::encode_envelope(e);
        std::erase_if(f, [&](auto const& kv) { return kv.first == dropped; });
        auto r = redis::detail::decode_envelope(entry_of(f));
        ASSERT_FALSE(r) << dropped;
        EXPECT_NE(r.error().message.find("field '" + dropped + "' is missing"), std::string::npos) << r.error().message;
    }
}

}  // namespace
