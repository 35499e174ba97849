#pragma once
// The embedded default bus: delivers in the publishing coroutine, in publish order.
#include <es/event_bus.hpp>

#include <atomic>
#include <memory>
#include <mutex>

namespace spdlog { class logger; }

namespace es {

/// publish() returns after every matching handler ran. A handler that throws neither stops the
/// others nor is lost silently: it is counted in stats().handler_failures and logged with the
/// event and the exception text. Safe to share between threads.
class in_memory_event_bus final : public event_bus {
public:
    in_memory_event_bus();
    ~in_memory_event_bus() override;

    awaitable<void> publish(std::span<event_envelope const> events) override;
    subscription_id add_subscription(subscription s) override;
    bool unsubscribe(subscription_id id) override;
    std::size_t subscriber_count(std::string_view event_type) const override;
    std::size_t wildcard_subscriber_count() const override;
    std::size_t subscriber_count() const override;
    bus_stats stats() const override;

private:
    struct entry {
        subscription_id id;
        subscription sub;
    };
    using entry_list = std::vector<std::shared_ptr<entry const>>;
    std::shared_ptr<entry_list const> snapshot() const;

    // Copy on write: publish takes one snapshot per batch and iterates it without a lock or an
    // allocation; subscribe/unsubscribe (rare) build a new list.
    mutable std::mutex mutex_;
    std::shared_ptr<entry_list const> subscriptions_ = std::make_shared<entry_list const>();
    subscription_id next_id_ = 1;
    std::atomic<std::uint64_t> published_{0}, delivered_{0}, successes_{0}, failures_{0};
    std::shared_ptr<spdlog::logger> log_;
};

}  // namespace es
