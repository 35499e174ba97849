#pragma once
// Which events a consumer has processed, in Redis with an expiry (es::idempotent_handler).
#include <es/idempotency.hpp>
#include <es/redis/client/connection.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace es::redis {

/// One key per (consumer, event): "<prefix>:processed:<consumer>:<event id>", set after the
/// handler succeeded and expiring after `ttl` (default 7 days), so the set does not grow without
/// bound. Duplicates older than the ttl are no longer recognised: choose it longer than any
/// redelivery or replay window you rely on. A claim is "<that key>:claim" (SET NX PX lease,
/// checked against the processed key in the same script).
class processed_event_store final : public es::processed_event_store {
public:
    processed_event_store(std::shared_ptr<connection> conn, std::string prefix,
                          std::chrono::seconds ttl = std::chrono::hours(24 * 7));

    awaitable<bool> contains(std::string consumer, boost::uuids::uuid event_id) override;
    awaitable<void> remember(std::string consumer, boost::uuids::uuid event_id) override;
    awaitable<claim_outcome> claim(std::string consumer, boost::uuids::uuid event_id,
                                   std::chrono::milliseconds lease) override;
    awaitable<void> release(std::string consumer, boost::uuids::uuid event_id) override;

    std::string key(std::string const& consumer, boost::uuids::uuid const& event_id) const;

private:
    std::shared_ptr<connection> conn_;
    std::string prefix_;
    std::chrono::seconds ttl_;
};

}  // namespace es::redis
