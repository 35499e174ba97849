#pragma once
// The order service's parts wired together for one configuration: store, bus, repository,
// projections. The HTTP layer and main() only talk to this.
#include "app_config.hpp"
#include "domain/order.hpp"
#include "http/metrics.hpp"
#include "projections/order_summary.hpp"

#include <es/event_bus.hpp>
#include <es/event_store.hpp>
#include <es/repository.hpp>
#include <es/snapshot_store.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>

namespace orders {

/// What operators need from a bus beyond es::event_bus: stream info and dead letters.
/// Only buses that keep dead letters (Redis) provide one.
class bus_admin {
public:
    virtual ~bus_admin() = default;
    /// Stream, consumer groups (lag, pending, consumers), DLQ length.
    virtual es::awaitable<boost::json::object> info() = 0;
    virtual es::awaitable<boost::json::array> dead_letters(std::size_t max_count) = 0;
    /// Moves one dead letter back to the stream; false if there is none with that id.
    virtual es::awaitable<bool> replay_dead_letter(std::string id) = 0;
    virtual es::awaitable<std::size_t> replay_all_dead_letters() = 0;
};

/// The parts a backend supplies (see backends.cpp).
struct backend_parts {
    std::shared_ptr<es::event_store> store;
    std::shared_ptr<es::snapshot_store> snapshots;
    std::shared_ptr<es::event_bus> publisher;                    ///< where saves are published (null: a relay publishes)
    std::vector<std::shared_ptr<es::event_bus>> projection_buses;  ///< buses projections consume from
    /// Subscribes a projection in its own consumer group (where the bus has groups).
    std::function<void(std::string const& group, std::shared_ptr<es::event_subscriber>)> subscribe;
    std::shared_ptr<bus_admin> admin;                            ///< may be null
    std::shared_ptr<order_summary_view> read_model;              ///< null: kept in memory
    std::function<es::awaitable<void>(bool consume)> start;      ///< connects; consumes when asked
    std::function<es::awaitable<void>(std::chrono::milliseconds)> stop;
    std::function<es::awaitable<bool>()> ready;                  ///< store and bus reachable
};

/// Builds the parts for cfg.store / cfg.bus. Throws es::error naming what could not be reached.
es::awaitable<backend_parts> make_backends(app_config const& cfg, es::event_registry const& registry);

class order_app {
public:
    order_app(app_config cfg, backend_parts parts);

    app_config const& config() const noexcept { return cfg_; }
    es::event_registry const& registry() const noexcept { return registry_; }
    es::event_store& store() noexcept { return *parts_.store; }
    es::repository<order>& repository() noexcept { return *repository_; }
    order_summary_view& summaries() noexcept { return *summaries_; }
    /// Whether GET /orders can be answered here (a shared read model, or projections run here).
    bool serves_read_model() const noexcept { return parts_.read_model != nullptr || cfg_.role != "api"; }
    notification_subscriber& notifications() noexcept { return *notifications_; }
    http::metrics& metrics() noexcept { return metrics_; }
    bus_admin* admin() noexcept { return parts_.admin.get(); }
    /// The bus saves are published to, or the summary projection's bus when a relay publishes.
    es::event_bus& bus() noexcept;
    std::vector<std::shared_ptr<es::event_bus>> const& projection_buses() const noexcept { return parts_.projection_buses; }

    /// Subscribes the projections (role all|projector) and starts the backends.
    es::awaitable<void> start();
    es::awaitable<void> stop(std::chrono::milliseconds timeout);
    es::awaitable<bool> ready();

    std::uint64_t events_appended() const noexcept { return appended_.load(); }
    void count_appended(std::size_t n) noexcept { appended_ += n; }

private:
    app_config cfg_;
    es::event_registry registry_;
    backend_parts parts_;
    std::unique_ptr<es::repository<order>> repository_;
    std::shared_ptr<order_summary_view> summaries_;
    std::shared_ptr<notification_subscriber> notifications_;
    http::metrics metrics_;
    std::atomic<std::uint64_t> appended_{0};
};

/// Reads the static registry used by make_backends and order_app alike.
es::event_registry const& order_registry();

}  // namespace orders
