#include <es/idempotency.hpp>

namespace es {

awaitable<bool> in_memory_processed_event_store::contains(std::string consumer, boost::uuids::uuid event_id)
{
    std::lock_guard lock(mutex_);
    co_return seen_.count(key{std::move(consumer), event_id}) > 0;
}

awaitable<void> in_memory_processed_event_store::remember(std::string consumer, boost::uuids::uuid event_id)
{
    std::lock_guard lock(mutex_);
    key k{std::move(consumer), event_id};
    if (seen_.insert(k).second) {
        order_.push_back(std::move(k));
        while (order_.size() > capacity_) {
            seen_.erase(order_.front());
            order_.pop_front();
        }
    }
    co_return;
}

std::size_t in_memory_processed_event_store::size() const
{
    std::lock_guard lock(mutex_);
    return seen_.size();
}

event_handler idempotent_handler(std::shared_ptr<processed_event_store> store, std::string consumer,
                                 event_handler handler, std::shared_ptr<idempotency_stats> stats)
{
    return [store = std::move(store), consumer = std::move(consumer), handler = std::move(handler),
            stats = std::move(stats)](event_envelope const& e) -> awaitable<void> {
        // Awaited into a local first: g++ 12 miscompiles some `if (co_await …)` conditions.
        bool const seen = co_await store->contains(consumer, e.event_id);
        if (seen) {
            if (stats)
                ++stats->skipped;
            co_return;
        }
        co_await handler(e);
        co_await store->remember(consumer, e.event_id);
        if (stats)
            ++stats->handled;
    };
}

}  // namespace es
