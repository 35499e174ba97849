#include "order.hpp"

#include <es/error.hpp>

#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include <cmath>

namespace orders {

std::string_view to_string(order_status s) noexcept
{
    switch (s) {
    case order_status::none: return "none";
    case order_status::placed: return "placed";
    case order_status::paid: return "paid";
    case order_status::shipped: return "shipped";
    case order_status::cancelled: return "cancelled";
    }
    return "unknown";
}

namespace {
order_status status_from_string(std::string_view s)
{
    for (auto st : {order_status::none, order_status::placed, order_status::paid, order_status::shipped,
                    order_status::cancelled})
        if (to_string(st) == s)
            return st;
    throw es::error(es::errc::malformed_event, "unknown order status '" + std::string(s) + "' in snapshot");
}
}  // namespace

void order::place(std::string customer_id, std::vector<order_line> lines)
{
    if (status_ != order_status::none)
        throw es::domain_error("order " + id() + " has already been placed");
    if (customer_id.empty())
        throw es::domain_error("order " + id() + ": customer_id must not be empty");
    if (lines.empty())
        throw es::domain_error("order " + id() + ": an order needs at least one line");
    for (auto const& l : lines) {
        if (l.sku.empty())
            throw es::domain_error("order " + id() + ": every line needs a sku");
        if (l.quantity <= 0)
            throw es::domain_error("order " + id() + ": quantity of '" + l.sku + "' must be positive");
        if (!(l.unit_price >= 0) || !std::isfinite(l.unit_price))
            throw es::domain_error("order " + id() + ": unit_price of '" + l.sku + "' must be a non-negative number");
    }
    record(order_placed{std::move(customer_id), std::move(lines)});
}

void order::pay(std::string payment_reference)
{
    switch (status_) {
    case order_status::none: throw es::domain_error("order " + id() + " has not been placed");
    case order_status::paid:
    case order_status::shipped: throw es::domain_error("order " + id() + " is already paid");
    case order_status::cancelled: throw es::domain_error("order " + id() + " is cancelled and cannot be paid");
    case order_status::placed: break;
    }
    record(order_paid{total(), std::move(payment_reference)});
}

void order::ship(std::string tracking_number)
{
    switch (status_) {
    case order_status::none: throw es::domain_error("order " + id() + " has not been placed");
    case order_status::placed: throw es::domain_error("order " + id() + " cannot ship before it is paid");
    case order_status::shipped: throw es::domain_error("order " + id() + " has already shipped");
    case order_status::cancelled: throw es::domain_error("order " + id() + " is cancelled and cannot ship");
    case order_status::paid: break;
    }
    if (tracking_number.empty())
        throw es::domain_error("order " + id() + ": a shipment needs a tracking number");
    record(order_shipped{std::move(tracking_number)});
}

void order::cancel(std::string reason)
{
    switch (status_) {
    case order_status::none: throw es::domain_error("order " + id() + " has not been placed");
    case order_status::shipped: throw es::domain_error("order " + id() + " has shipped and can no longer be cancelled");
    case order_status::cancelled: return;  // the outcome already holds: cancelling twice changes nothing
    case order_status::placed:
    case order_status::paid: break;
    }
    if (reason.empty())
        throw es::domain_error("order " + id() + ": a cancellation needs a reason");
    record(order_cancelled{std::move(reason)});
}

double order::total() const noexcept
{
    double sum = 0;
    for (auto const& l : lines_)
        sum += static_cast<double>(l.quantity) * l.unit_price;
    return sum;
}

void order::apply(order_placed const& e)
{
    status_ = order_status::placed;
    customer_id_ = e.customer_id;
    lines_ = e.lines;
}
void order::apply(order_paid const& e)
{
    status_ = order_status::paid;
    payment_reference_ = e.payment_reference;
}
void order::apply(order_shipped const& e)
{
    status_ = order_status::shipped;
    tracking_number_ = e.tracking_number;
}
void order::apply(order_cancelled const& e)
{
    status_ = order_status::cancelled;
    cancel_reason_ = e.reason;
}

boost::json::value order::snapshot_state() const
{
    return {{"status", to_string(status_)},           {"customer_id", customer_id_},
            {"lines", boost::json::value_from(lines_)}, {"payment_reference", payment_reference_},
            {"tracking_number", tracking_number_},    {"cancel_reason", cancel_reason_}};
}

void order::restore_snapshot(boost::json::value const& state)
{
    auto const& o = state.as_object();
    status_ = status_from_string(o.at("status").as_string());
    customer_id_ = std::string(o.at("customer_id").as_string());
    lines_ = boost::json::value_to<std::vector<order_line>>(o.at("lines"));
    payment_reference_ = std::string(o.at("payment_reference").as_string());
    tracking_number_ = std::string(o.at("tracking_number").as_string());
    cancel_reason_ = std::string(o.at("cancel_reason").as_string());
}

boost::json::object order::to_json() const
{
    boost::json::object o{{"id", id()},
                          {"version", version()},
                          {"status", to_string(status_)},
                          {"customer_id", customer_id_},
                          {"lines", boost::json::value_from(lines_)},
                          {"total", total()}};
    if (!tracking_number_.empty())
        o["tracking_number"] = tracking_number_;
    if (!cancel_reason_.empty())
        o["cancel_reason"] = cancel_reason_;
    if (!payment_reference_.empty())
        o["payment_reference"] = payment_reference_;
    return o;
}

es::event_registry make_order_registry()
{
    es::event_registry r;
    r.add_all<order_event>();
    return r;
}

}  // namespace orders
