#pragma once
// The order service's events: plain described structs, stored as JSON payloads.
#include <boost/describe/class.hpp>

#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace orders {

struct order_line {
    std::string sku;
    long long quantity = 0;
    double unit_price = 0;

    friend bool operator==(order_line const&, order_line const&) = default;
};
BOOST_DESCRIBE_STRUCT(order_line, (), (sku, quantity, unit_price))

struct order_placed {
    static constexpr std::string_view event_type = "OrderPlaced";
    std::string customer_id;
    std::vector<order_line> lines;

    friend bool operator==(order_placed const&, order_placed const&) = default;
};
BOOST_DESCRIBE_STRUCT(order_placed, (), (customer_id, lines))

struct order_paid {
    static constexpr std::string_view event_type = "OrderPaid";
    double amount = 0;
    std::string payment_reference;

    friend bool operator==(order_paid const&, order_paid const&) = default;
};
BOOST_DESCRIBE_STRUCT(order_paid, (), (amount, payment_reference))

struct order_shipped {
    static constexpr std::string_view event_type = "OrderShipped";
    std::string tracking_number;

    friend bool operator==(order_shipped const&, order_shipped const&) = default;
};
BOOST_DESCRIBE_STRUCT(order_shipped, (), (tracking_number))

struct order_cancelled {
    static constexpr std::string_view event_type = "OrderCancelled";
    std::string reason;

    friend bool operator==(order_cancelled const&, order_cancelled const&) = default;
};
BOOST_DESCRIBE_STRUCT(order_cancelled, (), (reason))

using order_event = std::variant<order_placed, order_paid, order_shipped, order_cancelled>;

}  // namespace orders
