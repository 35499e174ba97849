// Redis Streams as the bus: one stream, a consumer group per projection, dead letters.
#include "app.hpp"

#include <es/log.hpp>
#include <es/redis/bus/outbox_relay.hpp>
#include <es/redis/bus/stream_bus.hpp>
#include <es/task_group.hpp>

#include <boost/asio/this_coro.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace orders {

namespace {

boost::json::object to_json(es::redis::stream_bus_info const& info)
{
    boost::json::array groups;
    for (auto const& g : info.groups) {
        boost::json::object o{{"name", g.name},
                              {"consumers", g.consumers},
                              {"pending", g.pending},
                              {"last_delivered_id", g.last_delivered_id}};
        o["lag"] = g.lag ? boost::json::value(*g.lag) : boost::json::value(nullptr);
        groups.push_back(std::move(o));
    }
    return {{"stream", info.stream},       {"length", info.length},         {"first_id", info.first_id},
            {"last_id", info.last_id},     {"groups", std::move(groups)},   {"total_pending", info.total_pending},
            {"dlq_stream", info.dlq_stream}, {"dlq_length", info.dlq_length}};
}

class redis_admin final : public bus_admin {
public:
    redis_admin(std::shared_ptr<es::redis::stream_bus> bus, std::shared_ptr<es::redis::outbox_relay> relay)
        : bus_(std::move(bus)), relay_(std::move(relay))
    {
    }

    es::awaitable<boost::json::object> info() override
    {
        auto i = co_await bus_->stream_info();
        auto out = to_json(i);
        if (relay_) {
            auto r = relay_->stats();
            out["relay"] = {{"instance", relay_->instance_id()}, {"active", r.active},     {"published", r.published},
                            {"checkpoint", r.checkpoint},        {"batches", r.batches},   {"leases_acquired", r.leases_acquired},
                            {"fenced", r.fenced},                {"errors", r.errors}};
        }
        co_return out;
    }

    es::awaitable<boost::json::array> dead_letters(std::size_t max_count) override
    {
        auto letters = co_await bus_->dlq_messages(max_count);
        boost::json::array out;
        for (auto const& d : letters)
            out.push_back({{"id", d.message_id},
                           {"original_id", d.original_id},
                           {"group", d.group},
                           {"event_type", d.event_type},
                           {"reason", d.reason},
                           {"retry_count", d.retry_count},
                           {"failed_at", d.failed_at}});
        co_return out;
    }

    es::awaitable<bool> replay_dead_letter(std::string id) override { co_return co_await bus_->replay_dlq_message(id); }
    es::awaitable<std::size_t> replay_all_dead_letters() override { co_return co_await bus_->replay_all_dlq_messages(); }

private:
    std::shared_ptr<es::redis::stream_bus> bus_;
    std::shared_ptr<es::redis::outbox_relay> relay_;
};

}  // namespace

es::awaitable<void> add_redis_bus(app_config const& cfg, backend_parts& parts)
{
    es::redis::stream_bus_config bc;
    bc.redis_url = cfg.bus;
    bc.stream_prefix = cfg.stream_prefix;
    bc.consumer_group = "order-summary";
    bc.additional_consumer_groups = {"notifications"};
    bc.registry = &order_registry();
    // A crashed replica's entries are picked up by the others after 10 s; poison goes to the DLQ
    // after 3 deliveries.
    bc.pending_idle_time = std::chrono::milliseconds(cfg.pending_idle_ms);
    bc.recovery_interval = std::chrono::milliseconds(std::clamp(cfg.pending_idle_ms / 4, 100, 2000));
    bc.max_retries = 3;
    auto ex = co_await es::asio::this_coro::executor;
    auto bus = std::make_shared<es::redis::stream_bus>(ex, bc);
    // On a durable store the relay publishes what was committed, in global order, exactly once;
    // the API then never publishes itself, so a crash after a commit loses no event.
    bool const relay_wanted = cfg.use_relay && cfg.store != "memory" && cfg.role != "projector";
    std::shared_ptr<es::redis::outbox_relay> relay;
    if (relay_wanted) {
        es::redis::outbox_relay_config rc;
        rc.name = "order-demo";
        rc.lease_ttl = std::chrono::milliseconds(cfg.relay_lease_ms);
        rc.lease_renew_interval = std::chrono::milliseconds(std::max(50, cfg.relay_lease_ms / 5));
        relay = std::make_shared<es::redis::outbox_relay>(*parts.store, *bus, rc);
    }
    parts.publisher = relay ? nullptr : bus;
    parts.projection_buses = {bus};
    parts.subscribe = [bus](std::string const& group, std::shared_ptr<es::event_subscriber> s) {
        auto types = s->subscribed_to();
        bus->add_subscription(group, es::subscription{std::move(types),
                                                      [s](es::event_envelope const& e) { return s->handle(e); }, group});
    };
    parts.admin = std::make_shared<redis_admin>(bus, relay);
    // The relay's run() belongs to this group: stop() ends it and awaits its end before the bus
    // it publishes through is shut down.
    auto relay_task = std::make_shared<es::task_group>();
    parts.start = [bus, relay, relay_task, ex](bool consume) -> es::awaitable<void> {
        if (consume)
            co_await bus->start();
        else
            co_await bus->connect();
        es::logger("order-demo")->info("event bus: Redis stream '{}' (consumer {}){}", bus->stream_name(),
                                       bus->consumer_name(), relay ? ", publishing through the outbox relay" : "");
        // run() retries store and Redis failures itself; an exception escaping it is a bug, and
        // the task group logs it with the task's name.
        if (relay)
            relay_task->spawn(ex, relay->run(), "outbox relay");
    };
    parts.stop = [bus, relay, relay_task](std::chrono::milliseconds timeout) -> es::awaitable<void> {
        auto log = es::logger("order-demo");
        if (relay) {
            relay->stop();
            bool const ended = co_await relay_task->join_for(timeout);
            if (!ended) {
                // Its store read or Redis call outlived the timeout: cancel the call itself.
                log->warn("outbox relay still busy after {} ms: cancelling it", timeout.count());
                relay_task->cancel();
                co_await relay_task->join();
            }
            log->info("outbox relay stopped");
        }
        co_await bus->shutdown(timeout);
        log->info("event bus stopped");
    };
    auto store_ready = parts.ready;
    parts.ready = [bus, store_ready]() -> es::awaitable<bool> {
        if (store_ready) {
            bool const store_ok = co_await store_ready();
            if (!store_ok)
                co_return false;
        }
        bool ok = true;
        try {
            co_await bus->stream_info();
        } catch (std::exception const&) {
            ok = false;
        }
        co_return ok;
    };
}

}  // namespace orders
