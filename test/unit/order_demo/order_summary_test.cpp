#include "domain/order.hpp"
#include "projections/order_summary.hpp"

#include <es/event.hpp>

#include <gtest/gtest.h>

using namespace orders;

namespace {
es::event_envelope stored(order_event const& e, std::string const& id, std::uint64_t version, std::uint64_t position)
{
    auto ne = es::event_registry::encode(e);
    ne.aggregate_type = "order";
    ne.aggregate_id = id;
    return es::make_envelope(ne, "order-" + id, version, position, es::now());
}
}  // namespace

TEST(OrderSummaryProjection, FollowsTheLifecycleAndSkipsDuplicates)
{
    auto registry = make_order_registry();
    order_summary_projection p(registry);
    p.apply(stored(order_placed{"c-1", {{"A", 2, 10.5}}}, "o1", 1, 1));
    p.apply(stored(order_paid{21, "p"}, "o1", 2, 2));
    p.apply(stored(order_paid{21, "p"}, "o1", 2, 2));  // redelivered
    p.apply(stored(order_placed{"c-2", {{"B", 1, 1}}}, "o2", 1, 3));
    auto o1 = p.find("o1");
    ASSERT_TRUE(o1);
    EXPECT_EQ(o1->status, "paid");
    EXPECT_DOUBLE_EQ(o1->total, 21);
    EXPECT_EQ(p.duplicates_skipped(), 1u);
    EXPECT_EQ(p.query("paid", "", 10).size(), 1u);
    EXPECT_EQ(p.query("", "c-2", 10).size(), 1u);
    EXPECT_EQ(p.query("", "", 10).front().id, "o2");  // newest first
}

TEST(OrderSummaryProjection, UndecodableEventThrows)
{
    auto registry = make_order_registry();
    order_summary_projection p(registry);
    auto bad = stored(order_placed{"c-1", {{"A", 2, 10.5}}}, "o1", 1, 1);
    bad.payload.erase("lines");
    EXPECT_THROW(p.apply(bad), es::error);
    EXPECT_EQ(p.size(), 0u);
}
