#pragma once
// Consumer-side idempotency: skip an event a consumer has already processed.
//
// Buses deliver at least once (a crash between a handler's effect and its acknowledgement means
// the event comes again). Handlers that are naturally idempotent (an upsert guarded by stream
// version) need nothing; for the others, wrap them with idempotent_handler.
//
// The guarantee depends on where the record lives:
//  * in the same transaction as the handler's effect (es::postgres::processed_events with a
//    transactional handler): exactly-once effect;
//  * elsewhere (in memory, Redis with expiry): the record is written after the handler
//    succeeded, so a crash between the two still repeats the handler once. What it removes is
//    the common duplicate: redelivery after a lost acknowledgement, replays, relay restarts.
#include <es/asio.hpp>
#include <es/event.hpp>
#include <es/event_bus.hpp>

#include <boost/uuid/uuid.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>

namespace es {

/// What claim() found.
enum class claim_outcome {
    claimed,            ///< this delivery may run the handler; remember() or release() follows
    already_processed,  ///< the consumer processed the event: skip it
    in_progress,        ///< another delivery holds an unexpired claim: try again later
};

/// Which events each consumer has processed, and which are being processed right now.
class processed_event_store {
public:
    virtual ~processed_event_store() = default;
    /// Whether `consumer` already processed `event_id`.
    virtual awaitable<bool> contains(std::string consumer, boost::uuids::uuid event_id) = 0;
    /// Records that `consumer` processed `event_id` (and drops its claim).
    virtual awaitable<void> remember(std::string consumer, boost::uuids::uuid event_id) = 0;
    /// Check and mark in one atomic step: already_processed, in_progress (another delivery's claim
    /// has not expired), or a new claim that expires after `lease` (so a handler that crashed
    /// holding it does not block the event for ever).
    virtual awaitable<claim_outcome> claim(std::string consumer, boost::uuids::uuid event_id,
                                           std::chrono::milliseconds lease) = 0;
    /// Gives a claim back (the handler failed): the next delivery may run the handler.
    virtual awaitable<void> release(std::string consumer, boost::uuids::uuid event_id) = 0;
};

/// Keeps the most recent `capacity` event ids per store in memory (oldest forgotten first).
class in_memory_processed_event_store final : public processed_event_store {
public:
    explicit in_memory_processed_event_store(std::size_t capacity = 1'000'000) : capacity_(capacity) {}
    awaitable<bool> contains(std::string consumer, boost::uuids::uuid event_id) override;
    awaitable<void> remember(std::string consumer, boost::uuids::uuid event_id) override;
    awaitable<claim_outcome> claim(std::string consumer, boost::uuids::uuid event_id,
                                   std::chrono::milliseconds lease) override;
    awaitable<void> release(std::string consumer, boost::uuids::uuid event_id) override;
    std::size_t size() const;

private:
    using key = std::pair<std::string, boost::uuids::uuid>;
    std::size_t capacity_;
    mutable std::mutex mutex_;
    std::set<key> seen_;
    std::deque<key> order_;
    std::map<key, std::chrono::steady_clock::time_point> claims_;  // claim -> expiry
};

/// Counts what an idempotent handler did; safe to read from any thread.
struct idempotency_stats {
    std::atomic<std::uint64_t> handled{0};
    std::atomic<std::uint64_t> skipped{0};
    std::atomic<std::uint64_t> in_progress{0};  ///< deliveries refused because another one held the claim
};

/// Wraps `handler` so that an event `consumer` already processed is skipped, and two concurrent
/// deliveries of one event never both run it: the handler runs only under a claim (check and
/// mark in one atomic step, expiring after `claim_lease`). The event is recorded as processed
/// after the handler returned; a handler that throws gives the claim back and runs again on
/// redelivery. A delivery that finds another one's claim fails with errc::in_progress, so the bus
/// delivers it again later (by then it is processed, and skipped).
event_handler idempotent_handler(std::shared_ptr<processed_event_store> store, std::string consumer,
                                 event_handler handler, std::shared_ptr<idempotency_stats> stats = nullptr,
                                 std::chrono::milliseconds claim_lease = std::chrono::minutes(5));

}  // namespace es
