#pragma once
// Settings of the PostgreSQL backend. Durations of zero disable what they control.
#include <chrono>
#include <cstddef>
#include <string>

namespace es::postgres {

/// Group commit (docs/event-store.md): concurrent appends of one event batch or more, to
/// different streams, share one transaction and one WAL flush. Each append keeps its own
/// expected-version check and its own outcome; an append that cannot be decided inside the group
/// (a conflict, an idempotent retry, a unique violation, data PostgreSQL rejects) is retried on
/// its own, so it never fails its neighbours.
struct group_commit_config {
    /// Off by default: a lone writer gains nothing, and a group that loses its connection
    /// reports "outcome unknown" to every append in it (each safe to retry with its event ids).
    bool enabled = false;
    /// Appends per group transaction at most.
    std::size_t max_batch = 64;
    /// How long a group waits for more appends before it commits; 0 = commit at once with
    /// whatever queued while the previous groups ran (natural batching, no added latency).
    std::chrono::microseconds max_wait{0};
    /// Group transactions in flight at once (each holds a pool connection while it runs). Fewer,
    /// larger groups beat more, smaller ones: each group costs one WAL flush. 0 = pool_size.
    std::size_t max_in_flight = 2;
};

struct config {
    /// libpq connection string ("host=127.0.0.1 port=5432 dbname=app") or URL
    /// ("postgresql://user@host/db"). Empty: libpq's PG* environment variables alone.
    std::string conninfo;
    /// PostgreSQL schema holding the tables; created and migrated by the library. Lower-case
    /// letters, digits and '_', starting with a letter or '_', at most 63 characters.
    std::string schema = "es";
    /// Connections, and threads running the blocking libpqxx calls (one per connection).
    std::size_t pool_size = 4;
    /// Server-side limit per statement (SET statement_timeout); 0 = none. Asio cancellation
    /// cannot interrupt a blocking libpqxx call, this can.
    std::chrono::milliseconds statement_timeout{30000};
    /// Run the migrations on first use. Off: the schema must already be at the library's version.
    bool migrate = true;
    /// Channel NOTIFYed (coalesced, outside the append transaction) after appends, for
    /// catch-up subscriptions. Empty: "<schema>_events".
    std::string notify_channel;
    /// NOTIFY after appends at all. Subscriptions still poll when this is off.
    bool notify = true;
    /// At most one NOTIFY per this interval, however many appends happen in it (a NOTIFY costs
    /// a WAL flush of its own and takes PostgreSQL's global notify lock through its commit).
    /// It bounds the wake-up latency of subscriptions; 0 = one NOTIFY per append burst.
    std::chrono::milliseconds notify_interval{20};
    /// Batching of concurrent appends into shared transactions; off by default.
    group_commit_config group_commit;
};

}  // namespace es::postgres
