#pragma once
// Loads aggregates from their events (and snapshots), saves what they recorded, publishes it.
#include <es/aggregate.hpp>
#include <es/error.hpp>
#include <es/event_bus.hpp>
#include <es/event_registry.hpp>
#include <es/event_store.hpp>
#include <es/snapshot_store.hpp>

#include <atomic>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace es {

namespace detail {
/// Logs on "es.core" that the snapshot a save took could not be written (the save succeeded).
void log_snapshot_failure(std::string_view aggregate_type, std::string_view aggregate_id,
                          std::uint64_t stream_version, std::exception_ptr const& failure);
}  // namespace detail

struct repository_options {
    /// Take a snapshot whenever a save crosses a multiple of this many events; 0 = never.
    std::uint64_t snapshot_every = 0;
    /// How often update() tries load -> command -> save before giving up on concurrency errors.
    int max_update_attempts = 3;
    /// Events read per store call while loading.
    std::size_t page_size = 1000;
    /// Publish saved events to the bus. Off when an outbox relay publishes from the store instead.
    bool publish = true;
};

/// Aggregate must derive from es::aggregate<Aggregate, Event> and be constructible from its id.
template <class Aggregate>
class repository {
public:
    using event_type = typename Aggregate::event_type;

    repository(event_store& store, event_registry const& registry, event_bus* bus = nullptr,
               snapshot_store* snapshots = nullptr, repository_options options = {})
        : store_(store), registry_(registry), bus_(bus), snapshots_(snapshots), options_(options)
    {
    }

    /// The aggregate rebuilt from its newest snapshot and the events after it.
    /// Throws not_found_error when it has no events; es::error when an event does not decode.
    awaitable<Aggregate> load(std::string id)
    {
        auto found = co_await try_load(std::move(id));
        if (!found.second)
            throw not_found_error(found.first.stream_id());
        co_return std::move(found.first);
    }

    /// The stored aggregate, or a fresh one at version 0 when it has no events.
    awaitable<Aggregate> load_or_create(std::string id)
    {
        auto found = co_await try_load(std::move(id));
        co_return std::move(found.first);
    }

    awaitable<bool> exists(std::string id)
    {
        Aggregate probe(std::move(id));
        co_return co_await store_.stream_version(probe.stream_id()) > 0;
    }

    /// Appends the pending events expecting loaded_version(), marks them committed and then
    /// publishes exactly what was stored, positions included. Throws concurrency_error when
    /// another writer got there first; the aggregate then keeps its pending events.
    /// A snapshot that cannot be written does not fail the save and does not stop the publish:
    /// the failure is logged and counted (snapshot_failures()); loads just replay more events.
    awaitable<append_result> save(Aggregate& agg, event_metadata metadata)
    {
        auto pending = agg.pending_events();
        if (pending.empty()) {
            append_result nothing;
            nothing.stream_version = agg.version();
            co_return nothing;
        }
        std::vector<new_event> events;
        events.reserve(pending.size());
        for (auto const& e : pending) {
            auto ne = event_registry::encode(e, metadata);
            ne.aggregate_type = std::string(Aggregate::aggregate_type);
            ne.aggregate_id = agg.id();
            events.push_back(std::move(ne));
        }
        auto const before = agg.loaded_version();
        auto result = co_await store_.append(agg.stream_id(), expected_version::exactly(before), std::move(events));
        agg.mark_committed();
        if constexpr (snapshottable<Aggregate>) {
            auto const every = options_.snapshot_every;
            if (snapshots_ != nullptr && every > 0 && result.stream_version / every > before / every) {
                std::exception_ptr failure;
                try {
                    snapshot snap{agg.stream_id(), std::string(Aggregate::aggregate_type), agg.version(),
                                  snapshot_schema_version(), agg.snapshot_state(), now()};
                    co_await snapshots_->save(std::move(snap));
                } catch (...) {
                    failure = std::current_exception();
                }
                if (failure) {
                    snapshot_failures_.fetch_add(1, std::memory_order_relaxed);
                    detail::log_snapshot_failure(Aggregate::aggregate_type, agg.id(), agg.version(), failure);
                }
            }
        }
        if (bus_ != nullptr && options_.publish && !result.events.empty())
            co_await bus_->publish(result.events);
        co_return result;
    }

    awaitable<append_result> save(Aggregate& agg) { return save(agg, event_metadata()); }

    /// load_or_create -> fn(aggregate&) -> save, tried again from a fresh load on
    /// concurrency_error up to max_update_attempts times. fn may throw domain_error.
    template <class Fn>
    awaitable<Aggregate> update(std::string id, Fn fn)
    {
        return update(std::move(id), std::move(fn), event_metadata());
    }

    template <class Fn>
    awaitable<Aggregate> update(std::string id, Fn fn, event_metadata metadata)
    {
        for (int attempt = 1;; ++attempt) {
            Aggregate agg = co_await load_or_create(id);
            fn(agg);
            bool conflict = false;
            try {
                co_await save(agg, metadata);
            } catch (concurrency_error const&) {
                if (attempt >= options_.max_update_attempts)
                    throw;
                conflict = true;
            }
            if (!conflict)
                co_return agg;
        }
    }

    repository_options const& options() const noexcept { return options_; }

    /// Snapshots that saves took but could not write (each one logged), since construction.
    std::uint64_t snapshot_failures() const noexcept { return snapshot_failures_.load(std::memory_order_relaxed); }

private:
    static std::uint32_t snapshot_schema_version()
    {
        if constexpr (requires { Aggregate::snapshot_schema_version; })
            return Aggregate::snapshot_schema_version;
        else
            return 1;
    }

    // The aggregate and whether anything was stored for it.
    awaitable<std::pair<Aggregate, bool>> try_load(std::string id)
    {
        Aggregate agg(std::move(id));
        auto const stream = agg.stream_id();
        bool found = false;
        if constexpr (snapshottable<Aggregate>) {
            if (snapshots_ != nullptr) {
                auto snap = co_await snapshots_->load(stream);
                if (snap && snap->schema_version == snapshot_schema_version()) {
                    agg.restore_snapshot(snap->state);
                    agg.restored_at(snap->stream_version);
                    found = true;
                }
            }
        }
        for (;;) {
            read_stream_options const from{agg.version() + 1, options_.page_size};
            auto page = co_await store_.read_stream(stream, from);
            for (auto const& env : page)
                agg.apply_stored(registry_.template decode<event_type>(env), env.stream_version);
            found = found || !page.empty();
            if (page.size() < options_.page_size)
                break;
        }
        co_return std::pair<Aggregate, bool>(std::move(agg), found);
    }

    event_store& store_;
    event_registry const& registry_;
    event_bus* bus_;
    snapshot_store* snapshots_;
    repository_options options_;
    std::atomic<std::uint64_t> snapshot_failures_{0};
};

}  // namespace es
