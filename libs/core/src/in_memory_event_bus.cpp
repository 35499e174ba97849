#include <es/in_memory_event_bus.hpp>
#include <es/log.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

namespace es {

in_memory_event_bus::in_memory_event_bus() : log_(logger("es.core")) {}
in_memory_event_bus::~in_memory_event_bus() = default;

std::shared_ptr<in_memory_event_bus::entry_list const> in_memory_event_bus::snapshot() const
{
    std::lock_guard lock(mutex_);
    return subscriptions_;
}

namespace {
bool wants(std::vector<std::string> const& types, std::string_view event_type)
{
    return types.empty() || std::find(types.begin(), types.end(), event_type) != types.end();
}
}  // namespace

awaitable<void> in_memory_event_bus::publish(std::span<event_envelope const> events)
{
    published_ += events.size();
    // The snapshot keeps handlers alive even if someone unsubscribes meanwhile.
    auto const handlers = snapshot();
    for (auto const& event : events) {
        ++delivered_;
        for (auto const& h : *handlers) {
            if (!wants(h->sub.event_types, event.event_type))
                continue;
            std::exception_ptr failure;
            try {
                co_await h->sub.handler(event);
            } catch (...) {
                failure = std::current_exception();
            }
            if (!failure) {
                ++successes_;
                continue;
            }
            ++failures_;
            log_->error("in-memory bus: subscription {}{} failed on {} #{} of '{}' (event {}): {}", h->id,
                        h->sub.name.empty() ? "" : " (" + h->sub.name + ")", event.event_type, event.stream_version,
                        event.stream_id, to_string(event.event_id), exception_message(failure));
        }
    }
}

subscription_id in_memory_event_bus::add_subscription(subscription s)
{
    std::lock_guard lock(mutex_);
    auto id = next_id_++;
    auto next = std::make_shared<entry_list>(*subscriptions_);
    next->push_back(std::make_shared<entry const>(entry{id, std::move(s)}));
    subscriptions_ = std::move(next);
    return id;
}

bool in_memory_event_bus::unsubscribe(subscription_id id)
{
    std::lock_guard lock(mutex_);
    auto next = std::make_shared<entry_list>(*subscriptions_);
    auto it = std::find_if(next->begin(), next->end(), [&](auto const& e) { return e->id == id; });
    if (it == next->end())
        return false;
    next->erase(it);
    subscriptions_ = std::move(next);
    return true;
}

std::size_t in_memory_event_bus::subscriber_count(std::string_view event_type) const
{
    std::lock_guard lock(mutex_);
    return std::count_if(subscriptions_->begin(), subscriptions_->end(), [&](auto const& e) {
        auto const& t = e->sub.event_types;
        return std::find(t.begin(), t.end(), event_type) != t.end();
    });
}

std::size_t in_memory_event_bus::wildcard_subscriber_count() const
{
    std::lock_guard lock(mutex_);
    return std::count_if(subscriptions_->begin(), subscriptions_->end(),
                         [](auto const& e) { return e->sub.event_types.empty(); });
}

std::size_t in_memory_event_bus::subscriber_count() const
{
    std::lock_guard lock(mutex_);
    return subscriptions_->size();
}

bus_stats in_memory_event_bus::stats() const
{
    return bus_stats{published_.load(), delivered_.load(), successes_.load(), failures_.load()};
}

}  // namespace es
