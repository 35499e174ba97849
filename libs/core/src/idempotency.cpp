#include <es/error.hpp>
#include <es/idempotency.hpp>
#include <es/log.hpp>

#include <boost/uuid/uuid_io.hpp>

#include <spdlog/spdlog.h>

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
    claims_.erase(k);
    if (seen_.insert(k).second) {
        order_.push_back(std::move(k));
        while (order_.size() > capacity_) {
            seen_.erase(order_.front());
            order_.pop_front();
        }
    }
    co_return;
}

awaitable<claim_outcome> in_memory_processed_event_store::claim(std::string consumer, boost::uuids::uuid event_id,
                                                                std::chrono::milliseconds lease)
{
    std::lock_guard lock(mutex_);
    key k{std::move(consumer), event_id};
    if (seen_.contains(k))
        co_return claim_outcome::already_processed;
    auto now = std::chrono::steady_clock::now();
    auto [it, inserted] = claims_.try_emplace(k, now + lease);
    if (!inserted) {
        if (it->second > now)
            co_return claim_outcome::in_progress;
        it->second = now + lease;  // the earlier claim lapsed: its handler crashed or hangs
    }
    co_return claim_outcome::claimed;
}

awaitable<void> in_memory_processed_event_store::release(std::string consumer, boost::uuids::uuid event_id)
{
    std::lock_guard lock(mutex_);
    claims_.erase(key{std::move(consumer), event_id});
    co_return;
}

std::size_t in_memory_processed_event_store::size() const
{
    std::lock_guard lock(mutex_);
    return seen_.size();
}

event_handler idempotent_handler(std::shared_ptr<processed_event_store> store, std::string consumer,
                                 event_handler handler, std::shared_ptr<idempotency_stats> stats,
                                 std::chrono::milliseconds claim_lease)
{
    return [store = std::move(store), consumer = std::move(consumer), handler = std::move(handler),
            stats = std::move(stats), claim_lease](event_envelope const& e) -> awaitable<void> {
        // Awaited into a local first: g++ 12 miscompiles some `if (co_await …)` conditions.
        auto const outcome = co_await store->claim(consumer, e.event_id, claim_lease);
        if (outcome == claim_outcome::already_processed) {
            if (stats)
                ++stats->skipped;
            co_return;
        }
        if (outcome == claim_outcome::in_progress) {
            if (stats)
                ++stats->in_progress;
            throw error(errc::in_progress, "event " + to_string(e.event_id) + " (" + e.event_type +
                                               ") is being processed by another delivery of consumer '" + consumer +
                                               "'; it is delivered again later");
        }
        std::exception_ptr failure;
        try {
            co_await handler(e);
        } catch (...) {
            failure = std::current_exception();
        }
        if (failure) {
            // The handler's error is what the bus reports; a release that fails as well is logged
            // (the claim then lapses after its lease) and never replaces it.
            std::exception_ptr release_failure;
            try {
                co_await store->release(consumer, e.event_id);
            } catch (...) {
                release_failure = std::current_exception();
            }
            if (release_failure)
                es::logger("es.core")->warn("idempotent handler of '{}': releasing the claim on event {} failed ({}); "
                                            "it lapses after {} ms",
                                            consumer, to_string(e.event_id), exception_message(release_failure),
                                            claim_lease.count());
            std::rethrow_exception(failure);
        }
        co_await store->remember(consumer, e.event_id);
        if (stats)
            ++stats->handled;
    };
}

}  // namespace es
