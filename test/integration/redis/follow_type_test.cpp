// A consumer that follows one event type through its per-type stream.
#include "bus_test_support.hpp"

#include <gtest/gtest.h>

namespace es::test {
namespace {

TEST(RedisBusFollowType, AConsumerOfOneTypeStreamSeesOnlyThatType)
{
    run_coro([]() -> awaitable<void> {
        auto publisher_cfg = make_bus_config();
        publisher_cfg.per_type_streams = true;
        redis::stream_bus publisher(publisher_cfg);

        auto follower_cfg = make_bus_config(publisher_cfg.stream_prefix);
        follower_cfg.follow_event_type = "Shipped";
        follower_cfg.consumer_group = "shipping-only";
        redis::stream_bus follower(follower_cfg);
        seen_numbers seen;
        follower.subscribe_all(seen.handler());
        co_await follower.start();
        EXPECT_EQ(follower.stream_name(), publisher_cfg.stream_prefix + ":type:Shipped");

        std::vector<event_envelope> batch;
        for (int i = 0; i < 30; ++i)
            batch.push_back(test_envelope(i % 3 == 0 ? "Shipped" : "Placed", i));
        co_await publisher.publish(batch);
        EXPECT_TRUE(co_await eventually([&] { return seen.size() >= 10; }));
        co_await sleep_for(std::chrono::milliseconds(200));
        EXPECT_EQ(seen.size(), 10u);
        for (int n : seen.distinct())
            EXPECT_EQ(n % 3, 0) << "event " << n << " is not a Shipped event";
        auto main_len = co_await redis::xlen(publisher.redis(), publisher.stream_name());
        EXPECT_EQ(main_len, 30) << "publishing from a follower config must still write the main stream";
        co_await follower.shutdown(std::chrono::seconds(1));
        co_await publisher.shutdown(std::chrono::seconds(1));
    });
}

}  // namespace
}  // namespace es::test
