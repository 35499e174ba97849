#pragma once
// es::redis::consumer_group: one Redis Streams consumer group as seen by this process.
//
// It owns a strand, a blocking connection (XREADGROUP BLOCK), and three coroutines on that
// strand: the read loop, the pending-recovery coroutine (XAUTOCLAIM) and the ownership keeper,
// which refreshes the idle time of the entries this process is handling (XCLAIM … JUSTID) so that
// no other process, and not its own recovery, takes them while a handler runs. It also owns the
// set of entries in flight, the batch of acknowledgements and the failure counts.
//
// Lifetime: start() creates the group in Redis and starts the coroutines; `co_await stop(drain)`
// stops reading, lets running handlers finish and acknowledge for up to `drain`, cancels the rest
// (their entries stay pending), removes this consumer from the group when nothing of it is pending,
// and returns only when every coroutine has ended and the connection is closed. The destructor
// cancels whatever still runs, handlers included.
//
// What it decides (ack, retry, dead-letter, skip) is detail/delivery_policy.hpp; see
// docs/redis-bus.md, "The consumer group".
#include <es/asio.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace es::redis {

namespace detail {
struct bus_context;
}

/// What one recovery pass did.
struct recovery_result {
    std::uint64_t checked = 0;             ///< pending entries examined (claimed + deleted)
    std::uint64_t claimed = 0;
    std::uint64_t reprocessed = 0;         ///< claimed, handled successfully and acked
    std::uint64_t failed = 0;              ///< claimed and failed again (still pending, retried later)
    std::uint64_t sent_to_dlq = 0;         ///< moved to the DLQ (never counted when the DLQ is disabled)
    std::uint64_t kept = 0;                ///< left pending, not handled: DLQ disabled, retries exhausted
    std::uint64_t skipped = 0;             ///< claimed but in flight in this process: left to its handler
    std::uint64_t deleted = 0;             ///< pending ids whose entries no longer existed
};

/// For a group that consumes a leased partition: checked before each handler runs and before
/// each acknowledgement, so a consumer that lost its lease stops touching the partition.
struct consumer_fence {
    /// Cheap local check (the lease's renewal deadline has not passed).
    std::function<bool()> still_owner;
    /// Checked by Redis in the same script as XACK: GET lease_key must equal token.
    std::string lease_key;
    std::string token;
};

class consumer_group {
public:
    consumer_group(std::shared_ptr<detail::bus_context> bus, std::string name, std::optional<consumer_fence> fence);
    /// Cancels whatever still runs (handlers included). The coroutines keep what they use alive
    /// until they end; an owner that can await uses stop().
    ~consumer_group();
    consumer_group(consumer_group const&) = delete;
    consumer_group& operator=(consumer_group const&) = delete;

    /// XGROUP CREATE (from 0, MKSTREAM; an existing group is kept), then starts the coroutines.
    awaitable<void> start();
    /// Stops reading and recovering without waiting; stop() waits.
    void request_stop();
    /// Stops, drains for up to `drain`, cancels the rest, removes this consumer when it has nothing
    /// pending, closes the connection. Returns when all of it has ended.
    awaitable<void> stop(std::chrono::milliseconds drain);

    /// One recovery pass over the whole pending list, on the group's strand.
    awaitable<recovery_result> recover(std::chrono::milliseconds min_idle, std::uint32_t max_retries,
                                       std::size_t batch_size);

    std::string const& name() const noexcept;
    /// Entries this process is handling or about to acknowledge.
    std::size_t in_flight() const noexcept;
    /// Whether any of its coroutines still runs.
    bool running() const noexcept;
    /// Reconnects of its blocking connection.
    std::uint64_t reconnections() const noexcept;

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace es::redis
