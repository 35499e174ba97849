// Every rule of the order aggregate, given/when/then.
#include "support/aggregate_spec.hpp"

#include "domain/order.hpp"

#include <es/error.hpp>

using es::test::aggregate_spec;
using namespace orders;

namespace {
order_line line(std::string sku, long long quantity, double price = 10)
{
    return order_line{std::move(sku), quantity, price};
}
order_placed placed()
{
    return order_placed{"c-9", {line("sku-1", 2, 5.5)}};
}
}  // namespace

TEST(OrderAggregate, PlacingRecordsOrderPlaced)
{
    aggregate_spec<order>("o-1")
        .given_no_events()
        .when([](order& o) { o.place("c-9", {line("sku-1", 2, 5.5)}); })
        .then_expect(placed());
}

TEST(OrderAggregate, PlacingTwiceIsRefused)
{
    aggregate_spec<order>("o-1").given(placed()).when([](order& o) { o.place("c-9", {line("x", 1)}); })
        .then_throws<es::domain_error>("already been placed");
}

TEST(OrderAggregate, PlacingNeedsCustomerAndLines)
{
    aggregate_spec<order>("o-1").when([](order& o) { o.place("", {line("x", 1)}); }).then_throws<es::domain_error>("customer_id");
    aggregate_spec<order>("o-1").when([](order& o) { o.place("c", {}); }).then_throws<es::domain_error>("at least one line");
    aggregate_spec<order>("o-1").when([](order& o) { o.place("c", {line("x", 0)}); }).then_throws<es::domain_error>("quantity");
    aggregate_spec<order>("o-1").when([](order& o) { o.place("c", {line("x", 1, -1)}); }).then_throws<es::domain_error>("unit_price");
    aggregate_spec<order>("o-1").when([](order& o) { o.place("c", {line("", 1)}); }).then_throws<es::domain_error>("sku");
}

TEST(OrderAggregate, PayingRecordsTheTotal)
{
    aggregate_spec<order>("o-1").given(placed()).when([](order& o) { o.pay("p-1"); }).then_expect(order_paid{11.0, "p-1"});
}

TEST(OrderAggregate, PayingAnUnplacedPaidOrCancelledOrderIsRefused)
{
    aggregate_spec<order>("o-1").when([](order& o) { o.pay("p"); }).then_throws<es::domain_error>("not been placed");
    aggregate_spec<order>("o-1").given(placed(), order_paid{11, "p"}).when([](order& o) { o.pay("p"); })
        .then_throws<es::domain_error>("already paid");
    aggregate_spec<order>("o-1").given(placed(), order_cancelled{"x"}).when([](order& o) { o.pay("p"); })
        .then_throws<es::domain_error>("cancelled");
}

TEST(OrderAggregate, ShippingAPaidOrderRecordsTheTrackingNumber)
{
    aggregate_spec<order>("o-1").given(placed(), order_paid{11, "p"}).when([](order& o) { o.ship("T-1"); })
        .then_expect(order_shipped{"T-1"});
}

TEST(OrderAggregate, CannotShipAnUnpaidOrCancelledOrder)
{
    aggregate_spec<order>("o-1").given(placed()).when([](order& o) { o.ship("T"); })
        .then_throws<es::domain_error>("cannot ship before it is paid");
    aggregate_spec<order>("o-1").given(placed(), order_cancelled{"x"}).when([](order& o) { o.ship("T"); })
        .then_throws<es::domain_error>("cancelled");
    aggregate_spec<order>("o-1").given(placed(), order_paid{11, "p"}, order_shipped{"T"}).when([](order& o) { o.ship("T2"); })
        .then_throws<es::domain_error>("already shipped");
    aggregate_spec<order>("o-1").given(placed(), order_paid{11, "p"}).when([](order& o) { o.ship(""); })
        .then_throws<es::domain_error>("tracking number");
}

TEST(OrderAggregate, CancellingRecordsTheReason)
{
    aggregate_spec<order>("o-1").given(placed(), order_paid{11, "p"}).when([](order& o) { o.cancel("changed mind"); })
        .then_expect(order_cancelled{"changed mind"});
}

TEST(OrderAggregate, CancellingAShippedOrderIsRefused)
{
    aggregate_spec<order>("o-1").given(placed(), order_paid{11, "p"}, order_shipped{"T"})
        .when([](order& o) { o.cancel("customer asked"); })
        .then_throws<es::domain_error>("has shipped");
}

TEST(OrderAggregate, CancellingTwiceChangesNothing)
{
    aggregate_spec<order>("o-1").given(placed(), order_cancelled{"x"}).when([](order& o) { o.cancel("again"); }).then_expect();
}

TEST(OrderAggregate, SnapshotRoundTripRestoresState)
{
    order o("o-1");
    std::vector<order_event> history{placed(), order_paid{11, "p"}, order_shipped{"T"}};
    o.load_from_history(history);
    order restored("o-1");
    restored.restore_snapshot(o.snapshot_state());
    EXPECT_EQ(restored.status(), order_status::shipped);
    EXPECT_EQ(restored.lines(), o.lines());
    EXPECT_EQ(restored.tracking_number(), "T");
    EXPECT_DOUBLE_EQ(restored.total(), 11.0);
}
