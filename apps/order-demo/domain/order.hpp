#pragma once
// The Order aggregate: place with lines, pay, ship with a tracking number, cancel with a reason.
#include "order_events.hpp"

#include <es/aggregate.hpp>
#include <es/event_registry.hpp>

#include <boost/json/value.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace orders {

enum class order_status { none, placed, paid, shipped, cancelled };

std::string_view to_string(order_status s) noexcept;

class order : public es::aggregate<order, order_event> {
public:
    static constexpr std::string_view aggregate_type = "order";
    static constexpr std::uint32_t snapshot_schema_version = 1;

    explicit order(std::string id) : aggregate(std::move(id)) {}

    // Commands. Each checks its rules and throws es::domain_error naming the order when one is
    // broken; otherwise it records exactly one event (or none when the outcome already holds).
    void place(std::string customer_id, std::vector<order_line> lines);
    void pay(std::string payment_reference);
    void ship(std::string tracking_number);
    void cancel(std::string reason);

    order_status status() const noexcept { return status_; }
    std::string const& customer_id() const noexcept { return customer_id_; }
    std::vector<order_line> const& lines() const noexcept { return lines_; }
    double total() const noexcept;
    std::string const& tracking_number() const noexcept { return tracking_number_; }
    std::string const& cancel_reason() const noexcept { return cancel_reason_; }

    boost::json::value snapshot_state() const;
    void restore_snapshot(boost::json::value const& state);

    /// The order as the API shows it.
    boost::json::object to_json() const;

private:
    friend class es::aggregate<order, order_event>;
    void apply(order_placed const& e);
    void apply(order_paid const& e);
    void apply(order_shipped const& e);
    void apply(order_cancelled const& e);

    order_status status_ = order_status::none;
    std::string customer_id_;
    std::vector<order_line> lines_;
    std::string payment_reference_;
    std::string tracking_number_;
    std::string cancel_reason_;
};

/// A registry with every order event.
es::event_registry make_order_registry();

}  // namespace orders
