#pragma once
// The event bus interface: publish stored events, deliver them to subscribers.
#include <es/asio.hpp>
#include <es/event.hpp>
#include <es/event_registry.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace es {

/// Handles one event. Throwing marks the delivery as failed: the bus counts and logs it and,
/// where it can (Redis), delivers the event again later.
using event_handler = std::function<awaitable<void>(event_envelope const&)>;
using subscription_id = std::uint64_t;

/// An object that lists the event types it wants and handles them.
class event_subscriber {
public:
    virtual ~event_subscriber() = default;
    virtual std::vector<std::string> subscribed_to() const = 0;
    virtual awaitable<void> handle(event_envelope const& e) = 0;
};

struct subscription {
    std::vector<std::string> event_types;  ///< empty: every type (a wildcard subscription)
    event_handler handler;
    std::string name;                      ///< for logs
};

/// Counters every bus keeps. Buses with more to say extend it in their own stats().
struct bus_stats {
    std::uint64_t published = 0;          ///< events accepted by publish()
    std::uint64_t delivered = 0;          ///< events handed to the subscribers
    std::uint64_t handler_successes = 0;  ///< handler invocations that returned
    std::uint64_t handler_failures = 0;   ///< handler invocations that threw
};

class event_bus {
public:
    virtual ~event_bus() = default;

    /// Publishes stored events, in order. The bus only reads them: `events` must stay alive until
    /// the returned awaitable completes (it does when the call is co_awaited at once).
    virtual awaitable<void> publish(std::span<event_envelope const> events) = 0;

    /// Adds a subscription; subscribe before start() on buses that consume from a server.
    virtual subscription_id add_subscription(subscription s) = 0;
    /// Removes a subscription; false if there was none with that id.
    virtual bool unsubscribe(subscription_id id) = 0;

    /// Subscriptions that receive `event_type` by name (wildcards not included).
    virtual std::size_t subscriber_count(std::string_view event_type) const = 0;
    /// Wildcard subscriptions.
    virtual std::size_t wildcard_subscriber_count() const = 0;
    /// All subscriptions.
    virtual std::size_t subscriber_count() const = 0;

    virtual bus_stats stats() const = 0;

    /// Starts delivering (buses that consume from a server); a no-op for in-process buses.
    virtual awaitable<void> start() { co_return; }
    /// Stops taking new work, lets running handlers finish for up to `timeout`, then stops.
    virtual awaitable<void> shutdown(std::chrono::milliseconds timeout) { (void)timeout; co_return; }

    subscription_id subscribe(std::string event_type, event_handler handler)
    {
        return add_subscription({{std::move(event_type)}, std::move(handler), {}});
    }
    subscription_id subscribe_all(event_handler handler) { return add_subscription({{}, std::move(handler), "*"}); }
    /// Subscribes an object to the types it lists; the bus keeps it alive.
    subscription_id subscribe(std::shared_ptr<event_subscriber> subscriber)
    {
        auto types = subscriber->subscribed_to();
        return add_subscription({std::move(types),
                                 [s = std::move(subscriber)](event_envelope const& e) { return s->handle(e); }, {}});
    }
};

/// Subscribes a handler taking the decoded event struct E. A payload that does not decode makes
/// the delivery fail with the registry's message.
template <event_struct E, class Fn>
subscription_id subscribe_typed(event_bus& bus, event_registry const& registry, Fn fn)
{
    return bus.subscribe(std::string(E::event_type),
                         [&registry, fn = std::move(fn)](event_envelope const& env) -> awaitable<void> {
                             E event = registry.try_decode_as<E>(env).value();
                             co_await fn(event, env);
                         });
}

/// Where a bus-only event comes from: the aggregate it is about and its version there.
struct event_origin {
    std::string aggregate_type;
    std::string aggregate_id;
    std::uint64_t version = 1;       ///< the stream version the event would have in a store
    event_metadata metadata{};       ///< correlation, causation, tenant, free keys
};

/// A stored-looking envelope for an event published without an event store: encoded by the
/// registry (a fresh event id, the struct's type and schema version), stream id
/// "<aggregate_type>-<aggregate_id>", global position 0, recorded now.
template <event_struct E>
event_envelope envelope_for(E const& event, event_origin const& origin)
{
    auto ne = event_registry::encode(event, origin.metadata);
    ne.aggregate_type = origin.aggregate_type;
    ne.aggregate_id = origin.aggregate_id;
    return make_envelope(ne, origin.aggregate_type + "-" + origin.aggregate_id, origin.version, 0, now());
}

/// Publishes one typed event without an event store (eventsource-py's bus-only demos); returns
/// the envelope it published.
template <event_struct E>
awaitable<event_envelope> publish_event(event_bus& bus, E event, event_origin origin)
{
    std::vector<event_envelope> batch{envelope_for(event, origin)};
    co_await bus.publish(batch);
    co_return std::move(batch.front());
}

}  // namespace es
