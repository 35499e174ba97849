#pragma once
// Transactional publication: follows an event store's global log and publishes every event to
// a Redis stream exactly once, whatever crashes in between (docs/reliability.md).
//
// Why it is exactly once: the relay's checkpoint lives in Redis next to the stream, and one Lua
// script appends a batch and advances the checkpoint atomically. A relay killed before the
// script wrote nothing; one killed after it wrote both. A restarted relay reads the checkpoint
// back and continues after it. The store's read_all never skips a late commit (gap-safe), so
// following it by position loses nothing.
//
// Why one at a time: relays take a lease (SET NX PX) and renew it; the script refuses to write
// unless the caller still holds the lease and the checkpoint is where it expects (fencing), so a
// relay that stalled past its lease cannot publish a batch twice. Another relay takes over once
// the lease expires.
#include <es/asio.hpp>
#include <es/event_store.hpp>
#include <es/redis/bus/stream_bus.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace es::redis {

struct outbox_relay_config {
    /// Relays with the same name share one checkpoint and one lease (default "default").
    /// Keys: "<stream>:relay:<name>:checkpoint" and "…:lease".
    std::string name = "default";
    /// This process' lease token (default empty: "<host>-<pid>-<random>").
    std::string instance_id;
    /// Events read from the store and published per script call (default 500).
    std::size_t batch_size = 500;
    /// How often to look for new events once caught up (default 50 ms).
    std::chrono::milliseconds poll_interval{50};
    /// Lease lifetime; a dead relay is replaced after at most this long (default 5 s).
    std::chrono::milliseconds lease_ttl{5000};
    /// How often a waiting relay tries to take the lease, and the leader renews it (default 1 s;
    /// must be well below lease_ttl).
    std::chrono::milliseconds lease_renew_interval{1000};
    /// Wait after a failed store read or Redis call before trying again (default 200 ms).
    std::chrono::milliseconds retry_delay{200};
    /// XADD MAXLEN ~ n (default: none). Trimming can drop entries not yet consumed.
    std::optional<std::uint64_t> max_stream_length;
};

struct outbox_relay_stats {
    std::uint64_t published = 0;       ///< events appended to the stream by this process
    std::uint64_t batches = 0;         ///< script calls that appended something
    std::uint64_t leases_acquired = 0; ///< times this process became the active relay
    std::uint64_t leases_lost = 0;     ///< times it found its lease gone (expired or taken)
    std::uint64_t fenced = 0;          ///< batches the script refused (lease or checkpoint moved)
    std::uint64_t errors = 0;          ///< failed store reads or Redis calls (retried)
    std::uint64_t checkpoint = 0;      ///< last global position this process published
    bool active = false;               ///< holds the lease right now
};

class outbox_relay {
public:
    /// `source` and `target` must outlive the relay. The relay publishes through target's
    /// connection to target's stream; target need not consume.
    outbox_relay(event_store& source, stream_bus& target, outbox_relay_config cfg);
    ~outbox_relay();
    outbox_relay(outbox_relay const&) = delete;
    outbox_relay& operator=(outbox_relay const&) = delete;

    /// Publishes until stop() or until the awaiting coroutine is cancelled (terminal
    /// cancellation, as es::task_group::cancel() emits). Failures of the store or of Redis are
    /// logged and retried. Before it returns it releases the lease if it holds it, so a standby
    /// relay takes over at once. One run() at a time; a stopped relay stays stopped.
    ///
    /// The owner awaits run()'s end; the shutdown pattern is stop(), then await that end:
    ///
    ///   es::task_group tasks;
    ///   tasks.spawn(ex, relay.run(), "outbox relay");
    ///   ...
    ///   relay.stop();
    ///   co_await tasks.join();   // the relay is idle now and may be destroyed
    awaitable<void> run();
    /// Asks run() to end, from any thread. Whatever run() waits on (the poll interval, the retry
    /// delay, the next lease attempt) is woken at once; a store read or Redis call in progress
    /// completes first (each is bounded by its own timeout). Does not wait: await run() for that.
    void stop() noexcept;

    outbox_relay_stats stats() const;
    /// The checkpoint stored in Redis (0 when the relay never published).
    awaitable<std::uint64_t> stored_checkpoint();
    std::string const& checkpoint_key() const noexcept;
    std::string const& lease_key() const noexcept;
    std::string const& instance_id() const noexcept;

private:
    struct state;
    std::shared_ptr<state> state_;
};

}  // namespace es::redis
