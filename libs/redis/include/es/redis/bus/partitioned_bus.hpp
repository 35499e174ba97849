#pragma once
// es::redis::partitioned_bus: an event_bus with per-aggregate order and horizontal scaling.
//
// Events go to one of N partition streams by a stable hash of their stream id (FNV-1a 64 of the
// stream id's bytes, modulo N), so every event of an aggregate lands in the same stream, in
// publish order. Within a consumer group each partition is consumed by exactly one live
// consumer at a time: the owner holds a lease in Redis (SET NX PX, renewed with a Lua
// check-and-PEXPIRE, released with a check-and-DEL) and runs a plain es::redis::stream_bus on
// that partition only while it holds it. A consumer that takes a partition over first
// re-processes the previous owner's pending entries (XAUTOCLAIM, min-idle 0) and only then reads
// new ones, so a dead consumer's in-flight events are handled before their successors.
//
// Keys (P = stream_prefix, p = 0..N-1, G = consumer group):
//   "P:partition:<p>:stream"          the partition's stream (stream_bus prefix "P:partition:<p>")
//   "P:partition:<p>:stream_dlq"      its dead-letter stream
//   "P:partition:<p>:lease:G"         the lease (value: the owner's consumer name)
//   "P:consumers:G"                   live consumers (ZSET, score = heartbeat expiry in ms)
// See docs/redis-bus.md, "Partitioned mode".
#include <es/event_bus.hpp>
#include <es/redis/bus/stream_bus.hpp>
#include <es/redis/bus/stream_bus_config.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace es::redis {

struct partitioned_bus_config {
    /// redis:// or rediss:// URL (default "redis://127.0.0.1:6379"); see stream_bus_config.
    std::string redis_url = "redis://127.0.0.1:6379";
    /// Timeouts, health check and reconnect backoff of every connection of the bus.
    config connection;
    /// Key prefix (default "events"); the key names are listed at the top of this header.
    std::string stream_prefix = "events";
    /// Number of partition streams (default 8). Every publisher and consumer of a prefix must use
    /// the same number: changing it moves aggregates to other partitions (and breaks their order
    /// while old entries are still unconsumed).
    std::uint32_t partitions = 8;
    /// Consumer group (default "default"). Partitions are shared out within a group; each group
    /// gets every event.
    std::string consumer_group = "default";
    /// This consumer's name in its group and its lease token (default empty:
    /// "<host>-<pid>-<random>"). Must be unique among the live consumers of the group.
    std::string consumer_name;
    /// Lease lifetime: a dead consumer's partitions are taken over after at most this long
    /// (default 5 s). Also the heartbeat lifetime of the live-consumer set.
    std::chrono::milliseconds lease_ttl{5000};
    /// How often a consumer renews its leases and heartbeat, takes free partitions up to its fair
    /// share ceil(partitions / live consumers) and gives back extras (default 1 s; must be below
    /// lease_ttl / 2). A partition whose lease could not be renewed for lease_ttl is given up.
    std::chrono::milliseconds rebalance_interval{1000};
    /// Consume partitions (default true). false: a publish-only bus that takes no leases.
    bool consume = true;

    /// Settings of each partition's stream_bus, passed through: batch_size, block_time,
    /// max_retries, enable_dlq, dlq_stream_suffix, pending_idle_time, recovery_interval,
    /// recovery_batch_size, max_stream_length, per_type_streams, atomic_publish, registry
    /// (defaults: those of stream_bus_config). Its redis_url, connection, stream_prefix,
    /// consumer_group and consumer_name are replaced by the fields above; additional consumer
    /// groups are not supported (use one partitioned_bus per group).
    stream_bus_config bus;
};

struct partitioned_bus_stats : bus_stats {
    std::uint64_t leases_acquired = 0;   ///< partitions this consumer started owning
    std::uint64_t leases_released = 0;   ///< partitions given back (fair share, shutdown)
    std::uint64_t leases_lost = 0;       ///< partitions whose lease expired or was taken
    std::uint64_t takeover_claimed = 0;  ///< pending entries of previous owners re-processed on takeover
    std::uint64_t rebalance_errors = 0;  ///< failed lease or heartbeat rounds (retried)
    std::uint64_t live_consumers = 0;    ///< as of the last heartbeat
    std::uint64_t owned = 0;             ///< partitions owned right now
};

class partitioned_bus final : public event_bus {
public:
    /// Runs on `ex` (its lease coroutine on a strand of it). Throws es::error(invalid_argument)
    /// for invalid names, zero partitions or rebalance_interval >= lease_ttl / 2.
    partitioned_bus(asio::any_io_executor ex, partitioned_bus_config cfg);
    /// Stops everything without waiting and without releasing leases (call shutdown() first).
    ~partitioned_bus() override;
    partitioned_bus(partitioned_bus const&) = delete;
    partitioned_bus& operator=(partitioned_bus const&) = delete;

    // ---- event_bus ------------------------------------------------------------------------------
    /// Sends each event to its partition, keeping the batch's order within each partition: one
    /// round trip per partition touched (see stream_bus::publish).
    awaitable<void> publish(std::span<event_envelope const> events) override;
    subscription_id add_subscription(subscription s) override;
    bool unsubscribe(subscription_id id) override;
    std::size_t subscriber_count(std::string_view event_type) const override;
    std::size_t wildcard_subscriber_count() const override;
    std::size_t subscriber_count() const override;
    /// published: by this bus; the rest summed over the partition buses it ran.
    bus_stats stats() const override;
    /// Connects and starts the lease coroutine, which announces the consumer and takes its share
    /// of partitions right away, then every rebalance_interval. Returns once the first heartbeat
    /// is in (partitions follow within moments). A no-op when `consume` is false.
    awaitable<void> start() override;
    /// Stops the lease coroutine, shuts every owned partition down (handlers get up to `timeout`),
    /// then releases the leases and leaves the live-consumer set, so others take over at once.
    awaitable<void> shutdown(std::chrono::milliseconds timeout) override;
    using event_bus::subscribe;

    // ---- specifics -----------------------------------------------------------------------------
    /// Stops at once without releasing anything, as a crash would: leases and heartbeat expire
    /// after lease_ttl, entries read but not acked stay pending for the next owner.
    void abandon();

    partitioned_bus_stats detailed_stats() const;
    /// Partitions this consumer owns right now, ascending.
    std::vector<std::uint32_t> owned_partitions() const;

    /// FNV-1a 64 of the stream id's bytes, modulo `partitions`. Stable across processes,
    /// platforms and versions: it decides where an aggregate's events live.
    static std::uint32_t partition_of(std::string_view stream_id, std::uint32_t partitions) noexcept;
    std::uint32_t partition_of(std::string_view stream_id) const noexcept;
    std::string partition_stream_name(std::uint32_t partition) const;
    std::string lease_key(std::uint32_t partition) const;
    std::string const& consumers_key() const noexcept;
    std::string const& consumer_name() const noexcept;
    /// The publishing stream_bus of a partition (admin: stream_info, DLQ, trim…).
    stream_bus& partition_bus(std::uint32_t partition);

private:
    struct state;
    std::shared_ptr<state> state_;
};

}  // namespace es::redis
