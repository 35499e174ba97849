#pragma once
// Private: what every part of a stream bus shares (the publisher, the consumer groups, the pull
// consumers, the DLQ and the admin calls): names, configuration, the shared connection, the
// subscriptions and the counters. Bus-wide counters are atomics and the subscription list has a
// mutex, so any coroutine may use them; a consumer group's own state lives in consumer_group.
#include <es/event_bus.hpp>
#include <es/redis/bus/stream_bus_config.hpp>
#include <es/redis/client/connection.hpp>
#include <es/redis/client/streams.hpp>
#include <es/task_group.hpp>

#include <spdlog/fwd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace es::redis::detail {

struct subscription_entry {
    subscription_id id;
    std::string group;
    subscription sub;
};

/// Handler latencies over the last 4096 entries.
class latency_ring {
public:
    void add(std::chrono::microseconds d);
    std::pair<std::chrono::microseconds, std::chrono::microseconds> percentiles() const;  ///< p50, p99

private:
    static constexpr std::size_t capacity = 4096;
    mutable std::mutex mutex_;
    std::vector<std::int64_t> values_;
    std::size_t next_ = 0;
};

struct bus_counters {
    std::atomic<std::uint64_t> published{0}, consumed{0}, handler_ok{0}, handler_failed{0}, processed_ok{0},
        processed_failed{0}, recovered{0}, sent_to_dlq{0}, kept_without_dlq{0}, skipped_other_group{0},
        unknown_type{0}, malformed{0}, pending_deleted{0}, consumers_removed{0}, retention_removed{0};
    std::atomic<std::uint64_t> past_reconnections{0};  ///< of connections already closed
    latency_ring latency;
};

struct bus_context : std::enable_shared_from_this<bus_context> {
    explicit bus_context(stream_bus_config c);

    stream_bus_config cfg;
    config conn_cfg;            ///< cfg.connection with the URL's host, port, credentials, TLS
    std::string stream;         ///< the consumed stream (main, or a type stream with follow_event_type)
    std::string publish_stream; ///< "<prefix>:stream"
    std::string dlq;
    std::string consumer;
    std::shared_ptr<spdlog::logger> log;
    bus_counters counters;

    // ---- executor and shared connection (conn_mutex) ------------------------------------------
    mutable std::mutex conn_mutex;
    asio::any_io_executor ex;
    bool lazily_bound = false;
    std::shared_ptr<connection> shared;
    /// Owns the run() coroutines of the shared connection and of the pull consumers' ones.
    task_group connection_tasks;

    /// Binds to the current coroutine's executor when the bus was built without one.
    awaitable<void> bind();
    /// The shared non-blocking connection, created (and its run() started) on first use.
    connection& conn();
    /// A new connection whose run() belongs to `owner`; blocking ones serve XREADGROUP BLOCK.
    std::shared_ptr<connection> make_connection(bool blocking, task_group& owner);
    /// Cancels the shared connection and waits for its run() (and the pull consumers') to end.
    awaitable<void> close_connections();

    // ---- subscriptions (subs_mutex) ------------------------------------------------------------
    mutable std::mutex subs_mutex;
    std::vector<std::shared_ptr<subscription_entry const>> subs;
    subscription_id next_id = 1;
    std::vector<std::shared_ptr<subscription_entry const>> matching(std::string_view group, std::string_view type) const;

    // ---- names -----------------------------------------------------------------------------------
    std::vector<std::string> group_names() const;
    /// Handler failures per entry id of `group` (a hash next to the stream: every process of the
    /// group sees the same counts, so a take-over after a crash does not reset or add to them).
    std::string failures_key(std::string_view group) const;
    /// XGROUP CREATE … 0 MKSTREAM, tolerating BUSYGROUP.
    awaitable<void> ensure_group(std::string group);
};

/// Appends "<command> <key> <ids…>" (HDEL, HMGET of the failure counts).
void push_key_and_ids(request& req, std::string_view command, std::string const& key, std::vector<std::string> const& ids);

/// Field a DLQ replay adds: only this group handles the entry, the others acknowledge it.
inline constexpr std::string_view replay_group_field = "es_replay_group";

}  // namespace es::redis::detail
