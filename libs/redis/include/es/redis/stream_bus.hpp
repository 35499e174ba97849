#pragma once
// es::redis::stream_bus: an event_bus over Redis Streams consumer groups.
//
// Delivery is at least once: an entry is XACKed only after every matching handler returned.
// Each consumer group runs on its own strand with a read loop (XREADGROUP BLOCK on a dedicated
// connection) and a pending-recovery coroutine (XAUTOCLAIM over the whole PEL, DLQ after
// max_retries deliveries). See docs/redis-bus.md.
#include <es/event_bus.hpp>
#include <es/redis/connection.hpp>
#include <es/redis/stream_bus_config.hpp>
#include <es/redis/streams.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace es::redis {

namespace detail {
struct bus_state;
struct pull_state;
}  // namespace detail

struct stream_bus_stats : bus_stats {
    // bus_stats: published, delivered (= consumed), handler_successes, handler_failures
    std::uint64_t consumed = 0;            ///< entries read from the stream (first deliveries and recoveries)
    std::uint64_t processed_ok = 0;        ///< entries whose handlers all succeeded (then acked)
    std::uint64_t processed_failed = 0;    ///< entries with a failing handler (left pending)
    std::uint64_t recovered = 0;           ///< entries re-delivered by recovery that then succeeded
    std::uint64_t sent_to_dlq = 0;
    std::uint64_t unknown_type = 0;        ///< entries with a type the registry does not know
    std::uint64_t malformed = 0;           ///< entries that do not decode into an envelope
    std::uint64_t pending_deleted = 0;     ///< pending ids whose entries were trimmed or deleted (possible loss)
    std::uint64_t reconnections = 0;       ///< reconnects of the bus' connections
    std::chrono::microseconds handler_latency_p50{0};  ///< over the last 4096 entries
    std::chrono::microseconds handler_latency_p99{0};
};

struct group_status {
    std::string name;
    std::uint64_t consumers = 0;
    std::uint64_t pending = 0;
    std::string last_delivered_id;
    std::optional<std::uint64_t> lag;      ///< entries not yet delivered to the group (Redis 7)
    std::vector<consumer_info> consumer_list;
};

struct stream_bus_info {
    std::string stream;
    std::uint64_t length = 0;
    std::string first_id;                  ///< empty when the stream is empty
    std::string last_id;
    std::vector<group_status> groups;
    std::uint64_t total_pending = 0;
    std::string dlq_stream;
    std::uint64_t dlq_length = 0;
};

/// A DLQ entry: the original fields plus why and when it was dead-lettered.
struct dlq_message {
    std::string message_id;                ///< id in the DLQ stream
    std::string original_id;               ///< id it had in the main stream
    std::string group;
    std::string event_type;                ///< empty for undecodable entries without a type field
    std::string reason;
    std::uint64_t retry_count = 0;         ///< deliveries before it was dead-lettered
    std::string failed_at;                 ///< ISO 8601
    field_list original_fields;
};

struct recovery_result {
    std::uint64_t checked = 0;             ///< pending entries examined (claimed + deleted)
    std::uint64_t claimed = 0;
    std::uint64_t reprocessed = 0;         ///< claimed, handled successfully and acked
    std::uint64_t failed = 0;              ///< claimed and failed again (still pending)
    std::uint64_t sent_to_dlq = 0;
    std::uint64_t deleted = 0;             ///< pending ids whose entries no longer existed
};

/// An event from the stream with its message id.
struct stored_event {
    std::string message_id;
    event_envelope event;
};

/// Pull-style consumer: `co_await c.next()` yields the group's next event; `co_await ev.ack()`.
class pull_consumer {
public:
    class delivery {
    public:
        event_envelope event;
        std::string message_id;
        /// XACKs the entry; until then it stays pending and recovery may hand it to others.
        awaitable<void> ack() const;

    private:
        friend class pull_consumer;
        std::shared_ptr<detail::pull_state> state_;
    };

    explicit pull_consumer(std::shared_ptr<detail::pull_state> state);
    ~pull_consumer();
    pull_consumer(pull_consumer&&) noexcept;

    /// The next event; waits for one. Entries that do not decode are dead-lettered and skipped.
    awaitable<delivery> next();
    /// The next event, or nullopt when none arrived within `wait`.
    awaitable<std::optional<delivery>> next(std::chrono::milliseconds wait);
    /// Ends the consumer's connection; a waiting next() fails with operation_aborted.
    void close();

private:
    std::shared_ptr<detail::pull_state> state_;
};

class stream_bus final : public event_bus {
public:
    /// Runs on `ex` (its groups each on a strand of it).
    stream_bus(asio::any_io_executor ex, stream_bus_config cfg);
    /// Runs on the executor of the first coroutine that calls into it.
    explicit stream_bus(stream_bus_config cfg);
    /// Stops everything without waiting (call shutdown() first for a graceful stop).
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
    /// Connects, creates the groups (from id 0, MKSTREAM, BUSYGROUP tolerated) and starts each
    /// group's read loop and recovery coroutine. Returns once they run.
    awaitable<void> start() override;
    /// Stops reading, lets running handlers finish and ack for up to `timeout`, cancels the
    /// rest (their entries stay pending), then closes the connections.
    awaitable<void> shutdown(std::chrono::milliseconds timeout) override;
    using event_bus::subscribe;

    // ---- Redis specifics ----------------------------------------------------------------------
    /// Subscribes in `group` (the primary or an additional group).
    subscription_id add_subscription(std::string const& group, subscription s);
    /// Connects the shared (non-blocking) connection; start() does it too.
    awaitable<void> connect();
    /// Stops the read loops without waiting (shutdown() waits).
    void stop_consuming();

    stream_bus_stats detailed_stats() const;
    awaitable<stream_bus_info> stream_info();

    awaitable<std::vector<dlq_message>> dlq_messages(std::size_t count);
    awaitable<std::vector<dlq_message>> dlq_messages(std::size_t count, std::string from_id, std::string to_id);
    /// Moves one DLQ entry back to the main stream (a new id) and removes it from the DLQ;
    /// false when there is no such DLQ entry.
    awaitable<bool> replay_dlq_message(std::string dlq_message_id);
    /// Replays every DLQ entry; returns how many.
    awaitable<std::size_t> replay_all_dlq_messages();
    /// Deletes the DLQ; returns how many entries it had.
    awaitable<std::size_t> purge_dlq();

    /// One recovery pass for the primary group, walking the whole PEL.
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
    /// XTRIM MAXLEN (exact). Returns the number of entries removed. Can drop unacked entries.
    awaitable<std::int64_t> trim(std::uint64_t max_len);
    /// XTRIM MINID now - age. Returns the number of entries removed. Can drop unacked entries.
    awaitable<std::int64_t> trim_older_than(std::chrono::milliseconds age);

    /// A pull consumer in `group` (created from id 0 if missing) named `consumer_name`.
    awaitable<pull_consumer> make_consumer(std::string group, std::string consumer_name);

    std::string const& stream_name() const noexcept;
    std::string const& dlq_stream_name() const noexcept;
    std::string type_stream_name(std::string_view event_type) const;
    std::string const& consumer_name() const noexcept;
    /// The shared non-blocking connection (publishing, acks, recovery, admin). A bus built
    /// without an executor must have been used (connect(), start()…) first.
    redis::connection& redis();

private:
    std::shared_ptr<detail::bus_state> state_;
};

}  // namespace es::redis
