// es::redis::partitioned_bus: partition streams by stream-id hash, one leased owner per
// partition and group. Each owned partition runs an ordinary stream_bus; the lease loop that
// decides which partitions this process consumes is partitioned_bus_state.hpp.
#include "partitioned_bus_state.hpp"

namespace es::redis {

namespace {
using clock = std::chrono::steady_clock;
}  // namespace

partitioned_bus::partitioned_bus(asio::any_io_executor ex, partitioned_bus_config cfg)
    : state_(std::make_shared<state>(ex, std::move(cfg)))
{
    auto& s = *state_;
    if (s.cfg.partitions == 0)
        throw es::error(es::errc::invalid_argument, "partitioned bus '" + s.cfg.stream_prefix + "': partitions must be at least 1");
    if (s.cfg.rebalance_interval.count() <= 0 || s.cfg.rebalance_interval * 2 >= s.cfg.lease_ttl)
        throw es::error(es::errc::invalid_argument, "partitioned bus '" + s.cfg.stream_prefix +
                                                    "': rebalance_interval must be positive and below lease_ttl / 2");
    if (!s.cfg.bus.additional_consumer_groups.empty())
        throw es::error(es::errc::invalid_argument, "partitioned bus '" + s.cfg.stream_prefix +
                                                    "': additional consumer groups are not supported (one bus per group)");
    s.consumer = s.cfg.consumer_name.empty() ? default_consumer_name() : s.cfg.consumer_name;
    s.consumers_key = s.cfg.stream_prefix + ":consumers:" + s.cfg.consumer_group;
    for (std::uint32_t p = 0; p < s.cfg.partitions; ++p)
        s.publishers.push_back(std::make_unique<stream_bus>(ex, s.partition_config(p)));  // validates the names
}

partitioned_bus::~partitioned_bus()
{
    // Cannot await: stops what runs (the task groups' destructors stop the loop and the workers);
    // shutdown() is the graceful way.
    state_->cancel_loop();
    for (auto const& r : state_->owned_snapshot()) {
        r->lost = true;
        if (r->bus)
            r->bus->stop_consuming();
    }
}

std::uint32_t partitioned_bus::partition_of(std::string_view stream_id, std::uint32_t partitions) noexcept
{
    std::uint64_t h = 14695981039346656037ull;  // FNV-1a 64 offset basis
    for (unsigned char c : stream_id) {
        h ^= c;
        h *= 1099511628211ull;  // FNV 64 prime
    }
    return partitions == 0 ? 0 : static_cast<std::uint32_t>(h % partitions);
}

std::uint32_t partitioned_bus::partition_of(std::string_view stream_id) const noexcept
{
    return partition_of(stream_id, state_->cfg.partitions);
}

awaitable<void> partitioned_bus::publish(std::span<event_envelope const> events)
{
    if (events.empty())
        co_return;
    auto s = state_;
    auto const first = partition_of(events.front().stream_id);
    if (std::all_of(events.begin(), events.end(), [&](auto const& e) { return partition_of(e.stream_id) == first; })) {
        co_await s->publishers[first]->publish(events);  // the common case (one aggregate's batch): no copies
        s->published += events.size();
        co_return;
    }
    std::map<std::uint32_t, std::vector<event_envelope>> by_partition;
    for (auto const& e : events)
        by_partition[partition_of(e.stream_id)].push_back(e);
    for (auto& [p, batch] : by_partition) {
        co_await s->publishers[p]->publish(batch);
        s->published += batch.size();
    }
}

subscription_id partitioned_bus::add_subscription(subscription sub)
{
    auto& s = *state_;
    std::lock_guard lock(s.mutex);
    auto id = s.next_id++;
    for (auto& [p, r] : s.owned)
        if (r->bus)
            r->ids[id] = r->bus->add_subscription(sub);
    s.subs.emplace(id, std::move(sub));
    return id;
}

bool partitioned_bus::unsubscribe(subscription_id id)
{
    auto& s = *state_;
    std::lock_guard lock(s.mutex);
    for (auto& [p, r] : s.owned) {
        if (auto it = r->ids.find(id); it != r->ids.end() && r->bus) {
            r->bus->unsubscribe(it->second);
            r->ids.erase(it);
        }
    }
    return s.subs.erase(id) > 0;
}

std::size_t partitioned_bus::subscriber_count(std::string_view event_type) const
{
    std::lock_guard lock(state_->mutex);
    return static_cast<std::size_t>(std::count_if(state_->subs.begin(), state_->subs.end(), [&](auto const& kv) {
        auto const& types = kv.second.event_types;
        return std::find(types.begin(), types.end(), event_type) != types.end();
    }));
}

std::size_t partitioned_bus::wildcard_subscriber_count() const
{
    std::lock_guard lock(state_->mutex);
    return static_cast<std::size_t>(std::count_if(state_->subs.begin(), state_->subs.end(),
                                                  [](auto const& kv) { return kv.second.event_types.empty(); }));
}

std::size_t partitioned_bus::subscriber_count() const
{
    std::lock_guard lock(state_->mutex);
    return state_->subs.size();
}

bus_stats partitioned_bus::stats() const
{
    auto d = detailed_stats();
    return static_cast<bus_stats const&>(d);
}

partitioned_bus_stats partitioned_bus::detailed_stats() const
{
    auto& s = *state_;
    partitioned_bus_stats out;
    {
        std::lock_guard lock(s.mutex);
        detail::add_stats(out, s.retired);
        for (auto const& [p, r] : s.owned)
            if (r->bus)
                detail::add_stats(out, r->bus->stats());
        out.owned = s.owned.size();
    }
    out.published = s.published;
    out.leases_acquired = s.acquired;
    out.leases_released = s.released;
    out.leases_lost = s.lost;
    out.takeover_claimed = s.claimed;
    out.rebalance_errors = s.errors;
    out.live_consumers = s.live;
    return out;
}

awaitable<void> partitioned_bus::start()
{
    auto s = state_;
    if (s->started || !s->cfg.consume)
        co_return;
    s->started = true;
    co_await s->publishers.front()->connect();
    // The first round on the strand, awaited: start() returns once partitions are taken (their
    // take-overs run beside it). Then the loop, owned by loop_task and ended by cancel_loop().
    auto first = [s]() { return s->round(); };  // a named local: g++ 12 and temporaries in co_await
    co_await asio::co_spawn(s->strand, std::move(first), asio::use_awaitable);
    auto stop = [s] { s->cancel_loop(); };
    s->loop_task.spawn(s->strand, state::loop(s), "lease loop of partitioned bus '" + s->cfg.stream_prefix + "'",
                       std::move(stop));
}

awaitable<void> partitioned_bus::shutdown(std::chrono::milliseconds timeout)
{
    auto s = state_;
    s->cancel_loop();
    auto deadline = clock::now() + timeout;
    // A round in flight finishes first (bounded by the connection's command timeout).
    bool loop_ended = co_await s->loop_task.join_for(timeout);
    if (!loop_ended) {
        s->log->warn("partitioned bus '{}': the lease round still runs after {} ms; waiting for it", s->cfg.stream_prefix,
                     timeout.count());
        co_await s->loop_task.join();
    }
    auto runners = s->owned_snapshot();
    for (auto const& r : runners)
        if (r->bus)
            r->bus->stop_consuming();
    std::vector<std::string> keys;
    for (auto const& r : runners) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
        if (r->bus)
            co_await r->bus->shutdown(std::max(left, std::chrono::milliseconds(0)));
        s->forget(*r);
        r->lost = true;
        keys.push_back(s->lease_key(r->partition));
        ++s->released;
    }
    // Take-overs see their partition lost and end; drains of lost partitions end on their own.
    s->workers.cancel();
    co_await s->workers.join();
    std::string failure;
    try {
        if (s->started) {
            co_await s->release_leases(std::move(keys));
            request leave;
            leave.push("ZREM", s->consumers_key, s->consumer);
            co_await s->conn().exec(leave);
        }
    } catch (std::exception const& e) {
        failure = e.what();
    }
    if (!failure.empty())
        s->log->warn("partitioned bus '{}': consumer '{}' could not release its leases (they expire): {}",
                     s->cfg.stream_prefix, s->consumer, failure);
    for (auto const& pub : s->publishers)
        co_await pub->shutdown(std::chrono::milliseconds(0));
}

void partitioned_bus::abandon()
{
    auto& s = *state_;
    s.cancel_loop();
    for (auto const& r : s.owned_snapshot()) {
        r->lost = true;
        if (r->bus)
            r->bus->stop_consuming();
    }
}

std::vector<std::uint32_t> partitioned_bus::owned_partitions() const
{
    std::lock_guard lock(state_->mutex);
    std::vector<std::uint32_t> out;
    for (auto const& [p, r] : state_->owned)
        out.push_back(p);
    return out;
}

std::string partitioned_bus::partition_stream_name(std::uint32_t partition) const
{
    return state_->publishers.at(partition)->stream_name();
}

std::string partitioned_bus::lease_key(std::uint32_t partition) const
{
    return state_->lease_key(partition);
}

std::string const& partitioned_bus::consumers_key() const noexcept
{
    return state_->consumers_key;
}

std::string const& partitioned_bus::consumer_name() const noexcept
{
    return state_->consumer;
}

stream_bus& partitioned_bus::partition_bus(std::uint32_t partition)
{
    return *state_->publishers.at(partition);
}

}  // namespace es::redis
