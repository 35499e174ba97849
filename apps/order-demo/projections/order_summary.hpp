#pragma once
// The order-summary read model: one row per order with its status and total, kept up to date by
// a bus subscriber. Safe to query from any thread.
#include "../domain/order.hpp"

#include <es/event_bus.hpp>
#include <es/event_registry.hpp>

#include <boost/json/object.hpp>

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace orders {

struct order_summary {
    std::string id;
    std::string customer_id;
    std::string status;
    double total = 0;
    std::size_t line_count = 0;
    std::string tracking_number;
    std::uint64_t version = 0;  ///< stream version of the last event applied
    std::uint64_t global_position = 0;
    es::timestamp updated_at{};

    boost::json::object to_json() const;
};

/// The order-summary read model as the API sees it, whatever keeps it.
class order_summary_view : public es::event_subscriber {
public:
    std::vector<std::string> subscribed_to() const override;
    /// Orders filtered by status and customer (empty = any), newest first, at most `limit`.
    virtual es::awaitable<std::vector<order_summary>> list(std::string status, std::string customer, std::size_t limit) = 0;
    virtual es::awaitable<std::size_t> count() = 0;
    virtual std::uint64_t events_applied() const = 0;
    virtual std::uint64_t duplicates_skipped() const = 0;
};

/// The read model in process memory. Deliveries are at least once, so an event whose stream
/// version is not newer than the row's is skipped: duplicates change nothing.
class order_summary_projection final : public order_summary_view {
public:
    explicit order_summary_projection(es::event_registry const& registry) : registry_(registry) {}

    es::awaitable<void> handle(es::event_envelope const& e) override;
    es::awaitable<std::vector<order_summary>> list(std::string status, std::string customer, std::size_t limit) override;
    es::awaitable<std::size_t> count() override;

    /// Applies one event synchronously (what handle() does).
    void apply(es::event_envelope const& e);

    std::optional<order_summary> find(std::string const& id) const;
    std::vector<order_summary> query(std::string const& status, std::string const& customer, std::size_t limit) const;
    std::size_t size() const;
    std::uint64_t events_applied() const override;
    std::uint64_t duplicates_skipped() const override;

private:
    es::event_registry const& registry_;
    mutable std::mutex mutex_;
    std::map<std::string, order_summary> rows_;
    std::uint64_t applied_ = 0;
    std::uint64_t skipped_ = 0;
};

/// Logs what a real service would e-mail to the customer.
class notification_subscriber final : public es::event_subscriber {
public:
    explicit notification_subscriber(es::event_registry const& registry) : registry_(registry) {}
    std::vector<std::string> subscribed_to() const override;
    es::awaitable<void> handle(es::event_envelope const& e) override;
    std::uint64_t sent() const;

private:
    es::event_registry const& registry_;
    mutable std::mutex mutex_;
    std::uint64_t sent_ = 0;
};

}  // namespace orders
