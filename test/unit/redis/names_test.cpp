#include <es/error.hpp>
#include <es/redis/bus/stream_bus_config.hpp>

#include <gtest/gtest.h>

using es::redis::stream_bus_config;

TEST(StreamBusNames, PlainNamesAreAccepted)
{
    stream_bus_config c;
    c.stream_prefix = "orders:v2";
    c.consumer_group = "order-summary";
    c.additional_consumer_groups = {"notifications", "audit_log"};
    c.consumer_name = "host-1/42@abc.def";
    EXPECT_NO_THROW(es::redis::validate_names(c));
    c.dlq_stream_suffix = "";
    EXPECT_NO_THROW(es::redis::validate_names(c));
}

TEST(StreamBusNames, HostileOrEmptyNamesAreRejectedWithTheSettingNamed)
{
    auto rejected = [](auto mutate, std::string const& setting) {
        stream_bus_config c;
        mutate(c);
        try {
            es::redis::validate_names(c);
            ADD_FAILURE() << setting << " was accepted";
        } catch (es::error const& e) {
            EXPECT_EQ(e.code(), es::make_error_code(es::errc::invalid_argument));
            EXPECT_NE(std::string(e.what()).find(setting), std::string::npos) << e.what();
            EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "control characters must not reach logs";
        }
    };
    rejected([](auto& c) { c.stream_prefix = ""; }, "stream_prefix");
    rejected([](auto& c) { c.stream_prefix = "a b"; }, "stream_prefix");
    rejected([](auto& c) { c.stream_prefix = "x\r\nFLUSHALL\r\n"; }, "stream_prefix");
    rejected([](auto& c) { c.consumer_group = "g*"; }, "consumer_group");
    rejected([](auto& c) { c.additional_consumer_groups = {"ok", "bad group"}; }, "additional consumer group");
    rejected([](auto& c) { c.consumer_name = std::string(201, 'a'); }, "consumer_name");
    rejected([](auto& c) { c.dlq_stream_suffix = "{x}"; }, "dlq_stream_suffix");
}
