#pragma once
// Private: the state of a consumer_group and its coroutines. consumer_group.cpp has the delivery
// path and the lifetime, pending_recovery.cpp the recovery pass, the ownership keeper and the
// consumer clean-up. Everything below the strand line is touched only on the group's strand: the
// read loop, the recovery coroutine and the keeper interleave there at their co_awaits, never in
// parallel, so the in-flight set they share needs no lock.
#include "bus_context.hpp"

#include <es/redis/bus/consumer_group.hpp>
#include <es/redis/bus/detail/delivery_policy.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <spdlog/spdlog.h>

#include <map>
#include <set>

namespace es::redis {

namespace detail {
// How one delivery ended, for the recovery pass' counts.
enum class delivered { acked, retry, dead_lettered, kept, abandoned, skipped, gone, fenced };
}  // namespace detail

struct consumer_group::impl : std::enable_shared_from_this<impl> {
    impl(std::shared_ptr<detail::bus_context> b, std::string n, std::optional<consumer_fence> f)
        : bus(std::move(b)), name(std::move(n)), fence(std::move(f)), strand(asio::make_strand(bus->ex))
    {
    }

    std::shared_ptr<detail::bus_context> bus;
    std::string const name;
    std::optional<consumer_fence> const fence;
    asio::strand<asio::any_io_executor> strand;
    task_group tasks;                      // read loop, recovery, keeper, the blocking connection's run()
    std::shared_ptr<connection> blocking;  // set before the coroutines start, reset by no one
    std::atomic<std::size_t> in_flight_count{0};
    std::atomic<bool> started{false};

    // ---- strand only ----------------------------------------------------------------------------
    bool stopping = false;
    std::set<std::string> in_flight;                             // read or claimed, not yet acked or given up
    std::set<std::string> lost;                                  // in flight, but another consumer claimed it
    std::set<std::string> had_failures;                          // ids whose failure count must be deleted on ack
    std::map<std::string, std::set<subscription_id>> succeeded;  // handlers already done for a failing entry
    std::map<std::string, std::string> last_error;
    std::vector<std::string> to_ack;
    std::set<asio::steady_timer*> sleepers;                      // timers request_stop() wakes

    detail::bus_counters& counters() { return bus->counters; }
    spdlog::logger& log() { return *bus->log; }

    detail::delivery_limits limits(std::uint32_t max_retries) const { return {max_retries, bus->cfg.enable_dlq}; }

    bool fenced_out() const { return fence && fence->still_owner && !fence->still_owner(); }

    // Sleeps until `d` passes or request_stop() wakes it.
    awaitable<void> pause(std::chrono::milliseconds d)
    {
        asio::steady_timer t(strand, d);
        sleepers.insert(&t);
        co_await t.async_wait(use_nothrow);
        sleepers.erase(&t);
    }

    void add_in_flight(std::string const& id)
    {
        if (in_flight.insert(id).second)
            ++in_flight_count;
    }
    void drop_in_flight(std::string const& id)
    {
        if (in_flight.erase(id) > 0)
            --in_flight_count;
        lost.erase(id);
    }

    // ---- acknowledgements -------------------------------------------------------------------------

    awaitable<void> flush_acks();

    // Records one more handler failure; returns the total across every process of the group.
    awaitable<std::uint64_t> record_failure(std::string const& id);

    // ---- one delivery -----------------------------------------------------------------------------

    // Runs the matching handlers; only those that have not succeeded on an earlier delivery.
    awaitable<detail::handlers_outcome> run_handlers(stream_entry const& entry, event_envelope const& env);

    void forget(std::string const& id)
    {
        succeeded.erase(id);
        last_error.erase(id);
    }

    // Handles one entry that is already in `in_flight`. First deliveries are acknowledged in a
    // batch after their read batch (ack_now false), recovered ones at once.
    awaitable<detail::delivered> deliver(stream_entry const& entry, std::uint64_t failures, std::uint32_t max_retries, bool ack_now);

    awaitable<detail::delivered> give_up(stream_entry const& entry, bool to_dlq, std::string const& reason, std::uint64_t retries);

    // ---- the read loop ----------------------------------------------------------------------------

    awaitable<void> read_loop();

    // HMGET of the recorded handler failures of `entries`.
    awaitable<std::map<std::string, std::uint64_t>> failure_counts(std::vector<stream_entry> const& entries);

    // ---- recovery ---------------------------------------------------------------------------------

    awaitable<recovery_result> recover(std::chrono::milliseconds min_idle, std::uint32_t max_retries, std::size_t batch);

    awaitable<void> remove_consumers(bool self);

    awaitable<void> recovery_loop();

    // ---- the ownership keeper ---------------------------------------------------------------------

    // Refreshes the idle time of the entries in flight every third of pending_idle_time, so that
    // recovery (ours or another process') never claims an entry whose handler is still running.
    awaitable<void> keeper();

    // ---- lifetime ---------------------------------------------------------------------------------

    // The coroutines hold the impl: it may outlive the consumer_group when the owner dropped it
    // without stop() (the destructor cancelled them then).
    static awaitable<void> run_read_loop(std::shared_ptr<impl> self) { co_await self->read_loop(); }
    static awaitable<void> run_recovery(std::shared_ptr<impl> self) { co_await self->recovery_loop(); }
    static awaitable<void> run_keeper(std::shared_ptr<impl> self) { co_await self->keeper(); }

    // On the strand.
    void on_stop()
    {
        stopping = true;
        for (auto* t : sleepers)
            t->cancel();
    }
};

}  // namespace es::redis
