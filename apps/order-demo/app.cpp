#include "app.hpp"

namespace orders {

es::event_registry const& order_registry()
{
    static es::event_registry const registry = make_order_registry();
    return registry;
}

order_app::order_app(app_config cfg, backend_parts parts)
    : cfg_(std::move(cfg))
    , registry_(order_registry())
    , parts_(std::move(parts))
    , summaries_(parts_.read_model ? parts_.read_model
                                   : std::shared_ptr<order_summary_view>(std::make_shared<order_summary_projection>(registry_)))
    , notifications_(std::make_shared<notification_subscriber>(registry_))
{
    es::repository_options options;
    options.snapshot_every = 50;
    options.publish = parts_.publisher != nullptr;
    repository_ = std::make_unique<es::repository<order>>(*parts_.store, registry_, parts_.publisher.get(),
                                                          parts_.snapshots.get(), options);
}

es::event_bus& order_app::bus() noexcept
{
    if (parts_.publisher)
        return *parts_.publisher;
    return *parts_.projection_buses.front();
}

es::awaitable<void> order_app::start()
{
    bool const consume = cfg_.role != "api";
    if (consume) {
        // Each projection in its own consumer group: both see every event, independently.
        parts_.subscribe("order-summary", summaries_);
        parts_.subscribe("notifications", notifications_);
    }
    if (parts_.start)
        co_await parts_.start(consume);
}

es::awaitable<void> order_app::stop(std::chrono::milliseconds timeout)
{
    if (parts_.stop)
        co_await parts_.stop(timeout);
}

es::awaitable<bool> order_app::ready()
{
    if (!parts_.ready)
        co_return true;
    co_return co_await parts_.ready();
}

}  // namespace orders
