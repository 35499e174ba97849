#pragma once
// Configuration of es::redis::stream_bus. Every field has a documented default; an explicit 0
// means 0 (see each field), never "use the default".
#include <es/redis/client/config.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace es {
class event_registry;
}

namespace es::redis {

struct stream_bus_config {
    /// redis:// or rediss:// URL (default "redis://127.0.0.1:6379"). Parsed into `connection`
    /// (host, port, credentials, TLS); the timeouts below in `connection` are kept.
    std::string redis_url = "redis://127.0.0.1:6379";
    /// Timeouts, health check and reconnect backoff of the bus' connections.
    config connection;

    /// Key prefix (default "events"): the stream is "<prefix>:stream".
    std::string stream_prefix = "events";
    /// Consumer group of the subscriptions (default "default").
    std::string consumer_group = "default";
    /// More groups consumed by this bus (default none); subscribe to them with
    /// stream_bus::add_subscription(group, …). Each group gets every event.
    std::vector<std::string> additional_consumer_groups;
    /// This process' name inside its groups (default empty: "<host>-<pid>-<random>").
    std::string consumer_name;

    /// COUNT of each XREADGROUP (default 100; 0: no COUNT, Redis returns everything available).
    std::size_t batch_size = 100;
    /// BLOCK of each XREADGROUP (default 5 s; 0: no BLOCK, the read loop polls every 10 ms).
    std::chrono::milliseconds block_time{5000};

    /// Retries of a failing entry (default 3): its handlers run 1 + max_retries times, then it goes
    /// to the DLQ with retry_count = max_retries (0: the first failure dead-letters it). Only
    /// handler failures count, not deliveries: a take-over after a crash costs no retry.
    std::uint32_t max_retries = 3;
    /// Dead-letter poison and undecodable entries (default true). Off: they stay pending and are
    /// only counted and logged.
    bool enable_dlq = true;
    /// DLQ stream name is "<stream><suffix>" (default "_dlq").
    std::string dlq_stream_suffix = "_dlq";

    /// Pending entries idle at least this long are claimed by recovery (default 60 s; 0: any).
    /// Entries this process is handling have their idle time reset every third of it, so a slow
    /// handler keeps its entry.
    std::chrono::milliseconds pending_idle_time{60000};
    /// Period of each group's recovery coroutine (default 30 s; 0 disables automatic recovery;
    /// recover_pending_messages() still works).
    std::chrono::milliseconds recovery_interval{30000};
    /// XAUTOCLAIM COUNT per page (default 100).
    std::size_t recovery_batch_size = 100;
    /// Recovery also removes consumers of the group that have nothing pending and were idle this
    /// long (default 1 h; 0: never). A graceful shutdown removes this process' own consumer.
    std::chrono::milliseconds consumer_idle_cleanup{3600000};

    /// XADD MAXLEN ~ n on publish (default: no trimming). Trimming can drop entries that are not
    /// yet acknowledged: see docs/redis-bus.md.
    std::optional<std::uint64_t> max_stream_length;
    /// Safe retention on a schedule (default off): every retention_interval the bus trims entries
    /// older than retention_max_age and beyond the newest retention_max_length, but never an entry
    /// that a consumer group has not been delivered or still has pending (docs/redis-bus.md).
    std::optional<std::uint64_t> retention_max_length;
    std::optional<std::chrono::milliseconds> retention_max_age;
    /// Period of the retention pass (default 60 s).
    std::chrono::milliseconds retention_interval{60000};
    /// Also append each event to "<prefix>:type:<EventType>" (default false).
    bool per_type_streams = false;
    /// Consume "<prefix>:type:<follow_event_type>" instead of the main stream (default empty: the
    /// main stream). For a consumer that follows one event type, when the publishers set
    /// per_type_streams. Its groups, DLQ ("<type stream><suffix>"), history and trim apply to the
    /// type stream; publish() still writes to the main stream (and the type streams).
    std::string follow_event_type;
    /// publish() wraps a batch in MULTI/EXEC (default false: a pipelined batch of XADDs, one
    /// round trip either way).
    bool atomic_publish = false;

    /// When set, entries whose event type the registry does not know go to the DLQ with reason
    /// "unknown event type" (default: none, every well-formed envelope is delivered).
    event_registry const* registry = nullptr;
};

/// "<host>-<pid>-<random hex>".
std::string default_consumer_name();

/// Throws es::error(invalid_argument) naming the setting unless the stream prefix, the consumer
/// groups, the consumer name and the DLQ suffix are plain names: 1 to 200 characters (the
/// suffix may be empty) of letters, digits and "-_.:@/". Names end up in keys, logs and admin
/// output; anything else is a configuration mistake or an attack, never a name.
void validate_names(stream_bus_config const& cfg);

}  // namespace es::redis
