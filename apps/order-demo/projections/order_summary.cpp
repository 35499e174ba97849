#include "order_summary.hpp"

#include <es/log.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace orders {

boost::json::object order_summary::to_json() const
{
    boost::json::object o{{"id", id},
                          {"customer_id", customer_id},
                          {"status", status},
                          {"total", total},
                          {"line_count", line_count},
                          {"version", version},
                          {"global_position", global_position},
                          {"updated_at", es::format_timestamp(updated_at)}};
    if (!tracking_number.empty())
        o["tracking_number"] = tracking_number;
    return o;
}

std::vector<std::string> order_summary_view::subscribed_to() const
{
    return {std::string(order_placed::event_type), std::string(order_paid::event_type),
            std::string(order_shipped::event_type), std::string(order_cancelled::event_type)};
}

es::awaitable<void> order_summary_projection::handle(es::event_envelope const& e)
{
    apply(e);
    co_return;
}

void order_summary_projection::apply(es::event_envelope const& e)
{
    // Decoding failures throw: the bus counts them and, on Redis, dead-letters the entry.
    auto event = registry_.decode<order_event>(e);
    std::lock_guard lock(mutex_);
    auto& row = rows_[e.aggregate_id];
    if (e.stream_version <= row.version) {
        ++skipped_;
        return;
    }
    row.id = e.aggregate_id;
    row.version = e.stream_version;
    row.global_position = e.global_position;
    row.updated_at = e.recorded_at;
    std::visit(
        [&](auto const& ev) {
            using E = std::decay_t<decltype(ev)>;
            if constexpr (std::is_same_v<E, order_placed>) {
                row.customer_id = ev.customer_id;
                row.status = "placed";
                row.line_count = ev.lines.size();
                row.total = 0;
                for (auto const& l : ev.lines)
                    row.total += static_cast<double>(l.quantity) * l.unit_price;
            } else if constexpr (std::is_same_v<E, order_paid>) {
                row.status = "paid";
            } else if constexpr (std::is_same_v<E, order_shipped>) {
                row.status = "shipped";
                row.tracking_number = ev.tracking_number;
            } else {
                row.status = "cancelled";
            }
        },
        event);
    ++applied_;
}

es::awaitable<std::vector<order_summary>> order_summary_projection::list(std::string status, std::string customer,
                                                                        std::size_t limit)
{
    co_return query(status, customer, limit);
}

es::awaitable<std::size_t> order_summary_projection::count()
{
    co_return size();
}

std::optional<order_summary> order_summary_projection::find(std::string const& id) const
{
    std::lock_guard lock(mutex_);
    auto it = rows_.find(id);
    if (it == rows_.end())
        return std::nullopt;
    return it->second;
}

std::vector<order_summary> order_summary_projection::query(std::string const& status, std::string const& customer,
                                                           std::size_t limit) const
{
    std::vector<order_summary> out;
    {
        std::lock_guard lock(mutex_);
        for (auto const& [id, row] : rows_)
            if ((status.empty() || row.status == status) && (customer.empty() || row.customer_id == customer))
                out.push_back(row);
    }
    std::sort(out.begin(), out.end(), [](auto const& a, auto const& b) { return a.global_position > b.global_position; });
    if (out.size() > limit)
        out.resize(limit);
    return out;
}

std::size_t order_summary_projection::size() const
{
    std::lock_guard lock(mutex_);
    return rows_.size();
}

std::uint64_t order_summary_projection::events_applied() const
{
    std::lock_guard lock(mutex_);
    return applied_;
}

std::uint64_t order_summary_projection::duplicates_skipped() const
{
    std::lock_guard lock(mutex_);
    return skipped_;
}

std::vector<std::string> notification_subscriber::subscribed_to() const
{
    return {std::string(order_shipped::event_type), std::string(order_cancelled::event_type)};
}

es::awaitable<void> notification_subscriber::handle(es::event_envelope const& e)
{
    auto event = registry_.decode<order_event>(e);
    auto log = es::logger("order-demo");
    if (auto const* shipped = std::get_if<order_shipped>(&event))
        log->info("notification: order {} shipped, tracking number {} (would e-mail the customer)", e.aggregate_id,
                  shipped->tracking_number);
    else if (auto const* cancelled = std::get_if<order_cancelled>(&event))
        log->info("notification: order {} cancelled: {} (would e-mail the customer)", e.aggregate_id, cancelled->reason);
    std::lock_guard lock(mutex_);
    ++sent_;
    co_return;
}

std::uint64_t notification_subscriber::sent() const
{
    std::lock_guard lock(mutex_);
    return sent_;
}

}  // namespace orders
