#pragma once
// Private: the state of a partitioned bus: its owned partitions and the lease loop that takes,
// renews and gives them back (partitioned_bus.cpp has the public API and the lifetime).
#include "partition_leases.hpp"

#include <es/error.hpp>
#include <es/log.hpp>
#include <es/redis/bus/partitioned_bus.hpp>
#include <es/redis/client/script.hpp>
#include <es/task_group.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>

namespace es::redis {

namespace detail {
inline void add_stats(bus_stats& to, bus_stats const& from)
{
    to.delivered += from.delivered;
    to.handler_successes += from.handler_successes;
    to.handler_failures += from.handler_failures;
}
}  // namespace detail

// One owned partition: its consuming stream_bus and the ids of our subscriptions in it.
struct partition_runner {
    using clock = std::chrono::steady_clock;
    std::uint32_t partition = 0;
    std::unique_ptr<stream_bus> bus;
    std::map<subscription_id, subscription_id> ids;  // ours -> the partition bus'
    // Renewal sent + ttl: held at least until then. Written by the lease loop, read by the
    // partition's consumer group before every handler and acknowledgement (its fence).
    std::atomic<clock::rep> lease_until{0};
    std::atomic<bool> lost{false};

    void hold_until(clock::time_point t) { lease_until = t.time_since_epoch().count(); }
    bool holds() const { return !lost && clock::now().time_since_epoch().count() < lease_until.load(); }
};

struct partitioned_bus::state : std::enable_shared_from_this<state> {
    using clock = std::chrono::steady_clock;
    asio::any_io_executor ex;
    asio::strand<asio::any_io_executor> strand;
    partitioned_bus_config cfg;
    std::shared_ptr<spdlog::logger> log = es::logger("es.redis");
    std::string consumer;
    std::string consumers_key;
    std::vector<std::unique_ptr<stream_bus>> publishers;  // one per partition, never started

    mutable std::mutex mutex;  // subs, owned (structure), retired
    std::map<subscription_id, subscription> subs;
    subscription_id next_id = 1;
    std::map<std::uint32_t, std::shared_ptr<partition_runner>> owned;  // changed on the strand only
    bus_stats retired;  // counters of partition buses we no longer run

    std::atomic<std::uint64_t> published{0}, acquired{0}, released{0}, lost{0}, claimed{0}, errors{0}, live{0};
    std::atomic<bool> stopping{false};
    bool started = false;
    asio::steady_timer* timer = nullptr;  // the loop's, on the strand
    task_group loop_task;  // the lease loop
    task_group workers;    // partition take-overs and the drains of lost partitions

    state(asio::any_io_executor e, partitioned_bus_config c) : ex(e), strand(asio::make_strand(e)), cfg(std::move(c)) {}

    connection& conn() { return publishers.front()->redis(); }

    std::string lease_key(std::uint32_t p) const
    {
        return cfg.stream_prefix + ":partition:" + std::to_string(p) + ":lease:" + cfg.consumer_group;
    }

    stream_bus_config partition_config(std::uint32_t p) const
    {
        auto c = cfg.bus;
        c.redis_url = cfg.redis_url;
        c.connection = cfg.connection;
        c.stream_prefix = cfg.stream_prefix + ":partition:" + std::to_string(p);
        c.consumer_group = cfg.consumer_group;
        c.consumer_name = consumer;
        c.additional_consumer_groups.clear();
        return c;
    }

    std::vector<std::shared_ptr<partition_runner>> owned_snapshot() const
    {
        std::lock_guard lock(mutex);
        std::vector<std::shared_ptr<partition_runner>> out;
        for (auto const& [p, r] : owned)
            out.push_back(r);
        return out;
    }

    void forget(partition_runner& r)
    {
        std::lock_guard lock(mutex);
        if (r.bus)
            detail::add_stats(retired, r.bus->stats());
        owned.erase(r.partition);
    }

    awaitable<void> release_leases(std::vector<std::string> keys)
    {
        if (keys.empty())
            co_return;
        std::vector<std::string> args{consumer};
        co_await eval(conn(), detail::release_script, std::move(keys), std::move(args));
    }

    // Stops consuming a partition whose lease is gone: someone else may own it already.
    void drop_lost(std::shared_ptr<partition_runner> const& r)
    {
        if (r->lost)
            return;
        r->lost = true;
        ++lost;
        log->warn("partitioned bus '{}': consumer '{}' lost the lease of partition {}; stopping it", cfg.stream_prefix,
                  consumer, r->partition);
        if (r->bus)
            r->bus->stop_consuming();
        forget(*r);
        // Handlers already running finish (at least once: the next owner may see them again); the
        // fence keeps them from acknowledging. Owned by `workers`, which shutdown() joins.
        workers.spawn(ex, finish_bus(r, std::chrono::milliseconds(0)),
                      "drain of lost partition " + std::to_string(r->partition), [] {});
    }

    static awaitable<void> finish_bus(std::shared_ptr<partition_runner> r, std::chrono::milliseconds timeout)
    {
        if (r->bus) {
            try {
                co_await r->bus->shutdown(timeout);
            } catch (std::exception const&) {
                // the bus logs its own failures; nothing to hand back here
            }
        }
    }

    // Starts consuming a partition we just leased: the previous owner's pending entries first.
    // Runs beside the lease loop (on the strand) so that a long takeover does not hold up the
    // renewal of the other leases.
    awaitable<void> take_over(std::shared_ptr<partition_runner> r)
    {
        auto p = r->partition;
        co_await r->bus->connect();
        if (r->lost)
            co_return;
        request create;
        create.push("XGROUP", "CREATE", r->bus->stream_name(), cfg.consumer_group, "0", "MKSTREAM");
        auto replies = co_await r->bus->redis().exec(create);
        if (replies.at(0).is_error() && replies.at(0).str.rfind("BUSYGROUP", 0) != 0)
            throw_if_error(replies.at(0), "XGROUP CREATE " + r->bus->stream_name());
        if (r->lost)
            co_return;
        auto rec = co_await r->bus->recover_pending_messages(std::chrono::milliseconds(0), cfg.bus.max_retries,
                                                              std::max<std::size_t>(cfg.bus.recovery_batch_size, 1));
        claimed += rec.claimed;
        if (rec.claimed > 0)
            log->info("partitioned bus '{}': consumer '{}' took over partition {} with {} pending entries "
                      "(reprocessed {}, failed {}, to DLQ {})",
                      cfg.stream_prefix, consumer, p, rec.claimed, rec.reprocessed, rec.failed, rec.sent_to_dlq);
        if (r->lost)
            co_return;
        co_await r->bus->start();
        if (r->lost)
            r->bus->stop_consuming();  // lost while start() ran: it cleared the stop flag
    }

    // Renews our leases and the heartbeat; gives up partitions whose lease is gone. Returns the
    // number of live consumers.
    awaitable<std::uint64_t> renew()
    {
        auto ttl = std::to_string(cfg.lease_ttl.count());
        std::vector<std::string> hb_keys{consumers_key};
        std::vector<std::string> hb_args{consumer, ttl};
        auto live_reply = co_await eval(conn(), detail::heartbeat_script, std::move(hb_keys), std::move(hb_args));
        auto runners = owned_snapshot();
        if (!runners.empty()) {
            std::vector<std::string> keys;
            for (auto const& r : runners)
                keys.push_back(lease_key(r->partition));
            std::vector<std::string> args{consumer, ttl};
            auto sent = clock::now();
            auto renewed = co_await eval(conn(), detail::renew_script, std::move(keys), std::move(args));
            for (std::size_t i = 0; i < runners.size(); ++i) {
                bool ok = i < renewed.elements.size() && renewed.elements[i].integer == 1;
                if (ok)
                    runners[i]->hold_until(sent + cfg.lease_ttl);
                else
                    drop_lost(runners[i]);
            }
        }
        auto n = static_cast<std::uint64_t>(std::max<long long>(live_reply.integer, 1));
        live = n;
        co_return n;
    }

    awaitable<void> rebalance()
    {
        auto live_now = co_await renew();
        if (stopping)
            co_return;  // abandon() or shutdown(): take nothing more
        auto const n = cfg.partitions;
        auto fair = static_cast<std::size_t>((n + live_now - 1) / live_now);
        auto runners = owned_snapshot();
        if (runners.size() > fair) {
            // Give back the highest partitions: drain them (up to half a lease, which is left
            // since the renewal above), then delete the lease so the next owner starts at once.
            std::vector<std::string> keys;
            for (std::size_t i = fair; i < runners.size(); ++i)
                runners[i]->bus->stop_consuming();
            auto drain_until = clock::now() + cfg.lease_ttl / 2;
            for (std::size_t i = fair; i < runners.size(); ++i) {
                auto r = runners[i];
                auto left = std::chrono::duration_cast<std::chrono::milliseconds>(drain_until - clock::now());
                co_await r->bus->shutdown(std::max(left, std::chrono::milliseconds(0)));
                forget(*r);
                r->lost = true;
                keys.push_back(lease_key(r->partition));
                ++released;
                log->info("partitioned bus '{}': consumer '{}' hands partition {} back (fair share {} of {} live)",
                          cfg.stream_prefix, consumer, r->partition, fair, live_now);
            }
            co_await release_leases(std::move(keys));
            co_return;
        }
        if (runners.size() == fair)
            co_return;
        // Candidates: the partitions we do not own, starting at a per-consumer offset so that
        // consumers starting together do not all race for partition 0.
        std::vector<std::uint32_t> candidates;
        auto start_at = partitioned_bus::partition_of(consumer, n);
        for (std::uint32_t i = 0; i < n; ++i) {
            auto p = (start_at + i) % n;
            std::lock_guard lock(mutex);
            if (!owned.contains(p))
                candidates.push_back(p);
        }
        std::vector<std::string> keys;
        for (auto p : candidates)
            keys.push_back(lease_key(p));
        std::vector<std::string> args{consumer, std::to_string(cfg.lease_ttl.count()), std::to_string(fair - runners.size())};
        auto sent = clock::now();
        auto taken = co_await eval(conn(), detail::acquire_script, std::move(keys), std::move(args));
        for (auto const& idx : taken.elements) {
            auto i = static_cast<std::size_t>(idx.integer);
            if (i < 1 || i > candidates.size())
                continue;
            auto r = std::make_shared<partition_runner>();
            r->partition = candidates[i - 1];
            r->hold_until(sent + cfg.lease_ttl);
            r->bus = std::make_unique<stream_bus>(ex, partition_config(r->partition));
            // The fence: the partition's group handles and acknowledges only while the lease is
            // ours (locally before each handler, and in Redis in the same script as XACK).
            std::weak_ptr<partition_runner> weak = r;
            consumer_fence fence;
            fence.still_owner = [weak] {
                auto runner = weak.lock();
                return runner && runner->holds();
            };
            fence.lease_key = lease_key(r->partition);
            fence.token = consumer;
            r->bus->set_fence(std::move(fence));
            {
                std::lock_guard lock(mutex);
                for (auto const& [id, sub] : subs)
                    r->ids[id] = r->bus->add_subscription(sub);
                owned[r->partition] = r;
            }
            ++acquired;
            // Stopped by marking it lost (checked between the take-over's steps and by the fence),
            // not by a cancellation signal: the take-over awaits work on the group's strand.
            workers.spawn(strand, start_partition(shared_from_this(), r),
                          "take-over of partition " + std::to_string(r->partition), [r] { r->lost = true; });
        }
    }

    static awaitable<void> start_partition(std::shared_ptr<state> self, std::shared_ptr<partition_runner> r)
    {
        co_await self->run_partition(std::move(r));
    }

    awaitable<void> run_partition(std::shared_ptr<partition_runner> r)
    {
        std::string failure;
        try {
            co_await take_over(r);
            if (!r->lost)
                log->info("partitioned bus '{}': consumer '{}' owns partition {}", cfg.stream_prefix, consumer,
                          r->partition);
        } catch (std::exception const& e) {
            failure = e.what();
        }
        if (failure.empty() || r->lost)
            co_return;
        ++errors;
        log->warn("partitioned bus '{}': consumer '{}' could not start partition {}: {}; releasing it",
                  cfg.stream_prefix, consumer, r->partition, failure);
        r->bus->stop_consuming();
        forget(*r);
        r->lost = true;
        co_await finish_bus(r, std::chrono::milliseconds(0));
        std::vector<std::string> rel{lease_key(r->partition)};
        try {
            co_await release_leases(std::move(rel));
        } catch (std::exception const&) {
            // it expires on its own
        }
    }

    // Partitions whose lease we could not renew for a whole ttl may be someone else's by now.
    void expire_unrenewed()
    {
        auto now = clock::now();
        for (auto const& r : owned_snapshot())
            if (r->lease_until.load() <= now.time_since_epoch().count())
                drop_lost(r);
    }

    // One lease round: heartbeat, renewals, then take or give back partitions.
    awaitable<void> round()
    {
        std::string failure;
        try {
            co_await rebalance();
        } catch (std::exception const& e) {
            failure = e.what();
        }
        if (!failure.empty()) {
            ++errors;
            log->warn("partitioned bus '{}': lease round of consumer '{}' failed: {}", cfg.stream_prefix, consumer,
                      failure);
        }
        expire_unrenewed();
    }

    // The rounds after the first (start() runs that one itself); ends when cancel_loop() wakes it.
    static awaitable<void> loop(std::shared_ptr<state> self)
    {
        asio::steady_timer t(self->strand);
        self->timer = &t;
        while (!self->stopping) {
            t.expires_after(self->cfg.rebalance_interval);
            co_await t.async_wait(use_nothrow);
            if (self->stopping)
                break;
            co_await self->round();
        }
        self->timer = nullptr;
    }

    void cancel_loop()
    {
        stopping = true;
        if (!started)
            return;  // nothing to wake, and the io_context may be gone already
        asio::post(strand, [self = shared_from_this()] {
            if (self->timer != nullptr)
                self->timer->cancel();
        });
    }
};

}  // namespace es::redis
