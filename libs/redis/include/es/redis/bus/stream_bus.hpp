#pragma once
// es::redis::stream_bus: an event_bus over Redis Streams consumer groups.
//
// Delivery is at least once: an entry is XACKed only after every matching handler returned.
// Each consumer group is an es::redis::consumer_group: its own strand, blocking connection, read
// loop, pending-recovery coroutine and ownership keeper (consumer_group.hpp). The bus publishes,
// owns its groups and the shared connection, and answers the admin calls (DLQ, info, history,
// replay, trim). See docs/redis-bus.md.
#include <es/event_bus.hpp>
#include <es/redis/bus/consumer_group.hpp>
#include <es/redis/bus/dlq_message.hpp>
#include <es/redis/bus/pull_consumer.hpp>
#include <es/redis/bus/stream_bus_config.hpp>
#include <es/redis/bus/stream_info.hpp>
#include <es/redis/client/connection.hpp>
#include <es/redis/client/streams.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace es::redis {

namespace detail {
struct bus_context;
}  // namespace detail

struct stream_bus_stats : bus_stats {
    // bus_stats: published, delivered (= consumed), handler_successes, handler_failures
    std::uint64_t consumed = 0;            ///< entries read from the stream (first deliveries and recoveries)
    std::uint64_t processed_ok = 0;        ///< entries whose handlers all succeeded (then acked)
    std::uint64_t processed_failed = 0;    ///< entries with a failing handler (left pending)
    std::uint64_t recovered = 0;           ///< entries re-delivered by recovery that then succeeded
    std::uint64_t sent_to_dlq = 0;
    std::uint64_t kept_without_dlq = 0;    ///< entries given up on while the DLQ is disabled (left pending)
    std::uint64_t skipped_other_group = 0; ///< DLQ replays meant for another group, acked unhandled
    std::uint64_t consumers_removed = 0;   ///< consumers removed from their groups (own at stop, idle ones)
    std::uint64_t retention_removed = 0;   ///< entries removed by safe retention (apply_retention, trim, schedule)
    std::uint64_t unknown_type = 0;        ///< entries with a type the registry does not know
    std::uint64_t malformed = 0;           ///< entries that do not decode into an envelope
    std::uint64_t pending_deleted = 0;     ///< pending ids whose entries were trimmed or deleted (possible loss)
    std::uint64_t reconnections = 0;       ///< reconnects of the bus' connections
    std::chrono::microseconds handler_latency_p50{0};  ///< over the last 4096 entries
    std::chrono::microseconds handler_latency_p99{0};
};

class stream_bus final : public event_bus {
public:
    /// Runs on `ex` (its groups each on a strand of it).
    stream_bus(asio::any_io_executor ex, stream_bus_config cfg);
    /// Runs on the executor of the first coroutine that calls into it.
    explicit stream_bus(stream_bus_config cfg);
    /// Cancels everything still running, handlers included, without waiting (shutdown() waits).
    ~stream_bus() override;

    // ---- event_bus ------------------------------------------------------------------------------
    /// Appends the batch in one round trip (pipelined XADDs, or MULTI/EXEC with atomic_publish).
    awaitable<void> publish(std::span<event_envelope const> events) override;
    /// Subscribes in the primary consumer group.
    subscription_id add_subscription(subscription s) override;
    bool unsubscribe(subscription_id id) override;
    std::size_t subscriber_count(std::string_view event_type) const override;
    std::size_t wildcard_subscriber_count() const override;
    std::size_t subscriber_count() const override;
    bus_stats stats() const override;
    /// connect(), then starts each group's coroutines. Returns once they run. After
    /// stop_consuming() it first awaits the stopped groups, then consumes again.
    awaitable<void> start() override;
    /// Stops reading, lets running handlers finish and ack for up to `timeout`, cancels the
    /// rest (their entries stay pending), removes this consumer from groups where it has nothing
    /// pending, then closes the connections. Returns when every coroutine of the bus has ended.
    awaitable<void> shutdown(std::chrono::milliseconds timeout) override;
    using event_bus::subscribe;

    // ---- Redis specifics ----------------------------------------------------------------------
    /// Subscribes in `group` (the primary or an additional group).
    subscription_id add_subscription(std::string const& group, subscription s);
    /// Connects the shared (non-blocking) connection and creates the consumer groups (from id 0,
    /// MKSTREAM; existing ones are kept). A refused connection fails at once, naming the endpoint.
    awaitable<void> connect();
    /// Stops the groups without waiting (shutdown() waits; start() consumes again).
    void stop_consuming();
    /// For a leased partition (partitioned_bus): the groups check the fence before handling and
    /// acknowledging. Set before start().
    void set_fence(consumer_fence fence);

    stream_bus_stats detailed_stats() const;
    awaitable<stream_bus_info> stream_info();

    awaitable<std::vector<dlq_message>> dlq_messages(std::size_t count);
    awaitable<std::vector<dlq_message>> dlq_messages(std::size_t count, std::string from_id, std::string to_id);
    /// Moves one DLQ entry back to the stream (a new id) for the group that dead-lettered it only
    /// (the other groups acknowledge it unhandled) and removes it from the DLQ; false when there
    /// is no such DLQ entry.
    awaitable<bool> replay_dlq_message(std::string dlq_message_id);
    /// Replays the DLQ entries present when it starts (a snapshot: entries that fail again are not
    /// replayed a second time); returns how many.
    awaitable<std::size_t> replay_all_dlq_messages();
    /// Deletes the DLQ; returns how many entries it had.
    awaitable<std::size_t> purge_dlq();

    /// One recovery pass for the primary group, walking the whole PEL (on the running group's
    /// strand when the bus consumes: entries in flight here are skipped).
    awaitable<recovery_result> recover_pending_messages(std::chrono::milliseconds min_idle, std::uint32_t max_retries,
                                                        std::size_t batch_size);
    awaitable<recovery_result> recover_pending_messages();

    /// The event stored under a stream message id.
    awaitable<std::optional<event_envelope>> get_event(std::string message_id);
    /// Up to `count` events between two ids ("-" and "+" for the ends), oldest first.
    awaitable<std::vector<stored_event>> event_history(std::size_t count, std::string from_id, std::string to_id);
    awaitable<std::vector<stored_event>> event_history(std::size_t count);
    /// Hands up to `count` stored events from `from_id` on to the primary group's subscribers in
    /// this process (not through the group: nothing is acked or redelivered). Returns how many.
    awaitable<std::size_t> replay(std::string from_id, std::size_t count);
    /// replay() of the events of one type only (read from the main stream; no per-type streams
    /// needed). Returns how many were handed on.
    awaitable<std::size_t> replay(std::string from_id, std::size_t count, std::string event_type);
    /// The newest `count` events, newest first (the brokers' get_event_history(count)).
    awaitable<std::vector<stored_event>> latest_events(std::size_t count);
    /// The newest `count` events of one type, newest first.
    awaitable<std::vector<stored_event>> latest_events(std::size_t count, std::string event_type);
    /// Up to `count` entries the primary group has delivered and not acknowledged, oldest first.
    awaitable<std::vector<pending_event>> pending_events(std::size_t count);
    awaitable<std::vector<pending_event>> pending_events(std::size_t count, std::string group);
    /// Safe retention: removes the entries older than `max_age` and beyond the newest `max_length`
    /// (either may be absent), but never one that a consumer group has not been delivered or still
    /// has pending; decided and done atomically in one script. At most 100,000 entries per call
    /// for the length limit (the next pass goes on).
    awaitable<retention_result> apply_retention(std::optional<std::uint64_t> max_length,
                                                std::optional<std::chrono::milliseconds> max_age);
    /// apply_retention(max_len, none). Returns the number of entries removed.
    awaitable<std::int64_t> trim(std::uint64_t max_len);
    /// apply_retention(none, age). Returns the number of entries removed.
    awaitable<std::int64_t> trim_older_than(std::chrono::milliseconds age);
    /// XTRIM MAXLEN (exact), whatever the groups have not read or acknowledged: those entries are
    /// lost to them. Returns the number of entries removed.
    awaitable<std::int64_t> force_trim(std::uint64_t max_len);
    /// XTRIM MINID now - age, whatever the groups have not read or acknowledged.
    awaitable<std::int64_t> force_trim_older_than(std::chrono::milliseconds age);

    /// A pull consumer in `group` (created from id 0 if missing) named `consumer_name`.
    awaitable<pull_consumer> make_consumer(std::string group, std::string consumer_name);

    std::string const& stream_name() const noexcept;
    std::string const& dlq_stream_name() const noexcept;
    std::string type_stream_name(std::string_view event_type) const;
    std::string const& consumer_name() const noexcept;
    /// The shared non-blocking connection (publishing, acks, recovery, admin). A bus built
    /// without an executor must have been used (connect(), start()…) first.
    redis::connection& redis();

    struct state;  ///< private (src/bus/stream_bus_state.hpp)

private:
    std::shared_ptr<state> state_;
};

}  // namespace es::redis
