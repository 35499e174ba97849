// es::redis::consumer_group: the delivery path (read, handle, acknowledge, give up) and the
// lifetime. State and threading: consumer_group_impl.hpp.
#include "consumer_group_impl.hpp"
#include "dead_letters.hpp"
#include "stream_bus_codec.hpp"

#include <es/event_registry.hpp>
#include <es/log.hpp>
#include <es/redis/bus/consumer_group.hpp>
#include <es/redis/bus/detail/delivery_policy.hpp>
#include <es/redis/client/error.hpp>
#include <es/redis/client/script.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

namespace es::redis {

namespace {
using clock = std::chrono::steady_clock;

// KEYS: stream, lease, failures. ARGV: group, token, ids… XACK only while the lease is ours.
script const fenced_ack_script(R"lua(
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return -1 end
local ids = {}
for i = 3, #ARGV do ids[#ids + 1] = ARGV[i] end
local n = redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
redis.call('HDEL', KEYS[3], unpack(ids))
return n
)lua");

}  // namespace


using detail::delivered;
using detail::push_key_and_ids;

awaitable<void> consumer_group::impl::flush_acks()
{
    if (to_ack.empty())
        co_return;
    auto ids = std::move(to_ack);
    to_ack.clear();
    // An entry another consumer claimed while our handler ran is theirs to acknowledge.
    std::erase_if(ids, [&](std::string const& id) { return lost.contains(id); });
    std::vector<std::string> clear_failures;
    for (auto const& id : ids)
        if (had_failures.erase(id) > 0)
            clear_failures.push_back(id);
    if (ids.empty()) {
    } else if (fence && !fence->lease_key.empty()) {
        std::vector<std::string> keys{bus->stream, fence->lease_key, bus->failures_key(name)};
        std::vector<std::string> args{name, fence->token};
        args.insert(args.end(), ids.begin(), ids.end());
        auto r = co_await eval(bus->conn(), fenced_ack_script, std::move(keys), std::move(args));
        if (r.integer < 0)
            log().warn("redis bus: group '{}' of '{}' lost its lease; {} handled entries are left to the new owner",
                       name, bus->stream, ids.size());
    } else {
        request req;
        push_xack(req, bus->stream, name, ids);
        if (!clear_failures.empty()) {
            push_key_and_ids(req, "HDEL", bus->failures_key(name), clear_failures);
        }
        auto replies = co_await bus->conn().exec(req);
        for (auto const& r : replies)
            throw_if_error(r, "XACK " + bus->stream);
    }
    for (auto const& id : ids)
        drop_in_flight(id);
}

// Records one more handler failure; returns the total across every process of the group.
awaitable<std::uint64_t> consumer_group::impl::record_failure(std::string const& id)
{
    request req;
    req.push("HINCRBY", bus->failures_key(name), id, 1);
    auto r = co_await bus->conn().call(req);
    had_failures.insert(id);
    co_return static_cast<std::uint64_t>(std::max<long long>(r.integer, 1));
}

// Runs the matching handlers; only those that have not succeeded on an earlier delivery.
awaitable<detail::handlers_outcome> consumer_group::impl::run_handlers(stream_entry const& entry, event_envelope const& env)
{
    auto handlers = bus->matching(name, env.event_type);
    std::set<subscription_id> done;  // a copy: recovery may touch the map while a handler runs
    if (auto it = succeeded.find(entry.id); it != succeeded.end())
        done = it->second;
    auto outcome = detail::handlers_outcome::succeeded;
    auto started_at = clock::now();
    for (auto const& h : handlers) {
        if (done.contains(h->id))
            continue;
        if (fenced_out())
            co_return detail::handlers_outcome::cancelled;
        std::exception_ptr failure;
        try {
            co_await h->sub.handler(env);
        } catch (...) {
            failure = std::current_exception();
        }
        if (!failure) {
            ++counters().handler_ok;
            done.insert(h->id);
            continue;
        }
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none) {
            outcome = detail::handlers_outcome::cancelled;
            break;
        }
        ++counters().handler_failed;
        outcome = detail::handlers_outcome::failed;
        auto why = exception_message(failure);
        last_error[entry.id] = why;
        log().error("redis bus: handler {}{} failed on {} (entry {} of '{}', group '{}'): {}", h->id,
                    h->sub.name.empty() ? "" : " (" + h->sub.name + ")", env.event_type, entry.id, bus->stream,
                    name, why);
    }
    counters().latency.add(std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - started_at));
    if (outcome == detail::handlers_outcome::succeeded)
        succeeded.erase(entry.id);
    else
        succeeded[entry.id] = std::move(done);
    co_return outcome;
}

// Handles one entry that is already in `in_flight`. First deliveries are acknowledged in a
// batch after their read batch (ack_now false), recovered ones at once.
awaitable<detail::delivered> consumer_group::impl::deliver(stream_entry const& entry, std::uint64_t failures, std::uint32_t max_retries, bool ack_now)
{
    ++counters().consumed;
    detail::entry_facts facts;
    facts.data_gone = entry.deleted;
    facts.failures = failures;
    result<event_envelope> env = make_failure(es::errc::malformed_event, "no data");
    if (!entry.deleted) {
        env = detail::decode_envelope(entry);
        facts.decodes = env.has_value();
        if (!env)
            facts.decode_error = env.error().message;
        else
            facts.event_type = env->event_type;
        facts.type_known = !env || bus->cfg.registry == nullptr || bus->cfg.registry->contains(env->event_type);
        facts.target_group = std::string(detail::field_of(entry, detail::replay_group_field));
    }
    auto before = detail::decide_before_delivery(facts, name, limits(max_retries));
    switch (before.action) {
    case detail::entry_action::skip_in_flight:
        co_return delivered::skipped;
    case detail::entry_action::ack_gone:
        ++counters().pending_deleted;
        log().warn("redis bus: pending entry {} of '{}' (group '{}') was trimmed or deleted before processing",
                   entry.id, bus->stream, name);
        to_ack.push_back(entry.id);
        co_await flush_acks();
        co_return delivered::gone;
    case detail::entry_action::skip_not_ours:
        ++counters().skipped_other_group;
        to_ack.push_back(entry.id);
        if (ack_now)
            co_await flush_acks();
        co_return delivered::skipped;
    case detail::entry_action::dead_letter:
    case detail::entry_action::keep: {
        if (!facts.decodes)
            ++counters().malformed;
        else if (!facts.type_known)
            ++counters().unknown_type;
        bool to_dlq = before.action == detail::entry_action::dead_letter;
        auto how = co_await give_up(entry, to_dlq, before.reason, before.retry_count);
        co_return how;
    }
    case detail::entry_action::deliver:
        break;
    }
    if (fenced_out()) {
        drop_in_flight(entry.id);
        co_return delivered::fenced;
    }
    auto outcome = co_await run_handlers(entry, *env);
    auto last = last_error.contains(entry.id) ? last_error[entry.id] : std::string();
    if (outcome == detail::handlers_outcome::failed)
        failures = co_await record_failure(entry.id);
    auto after = detail::decide_after_handlers(outcome, failures, last, limits(max_retries));
    switch (after.action) {
    case detail::after_action::ack:
        ++counters().processed_ok;
        forget(entry.id);
        to_ack.push_back(entry.id);
        if (ack_now)
            co_await flush_acks();
        co_return delivered::acked;
    case detail::after_action::retry_later:
        ++counters().processed_failed;
        drop_in_flight(entry.id);  // pending: recovery hands it to a handler again
        co_return delivered::retry;
    case detail::after_action::abandon:
        drop_in_flight(entry.id);
        log().warn("redis bus: handler for entry {} of '{}' (group '{}') was cancelled; the entry stays pending",
                   entry.id, bus->stream, name);
        co_return delivered::abandoned;
    case detail::after_action::dead_letter:
    case detail::after_action::keep: {
        ++counters().processed_failed;
        bool to_dlq = after.action == detail::after_action::dead_letter;
        auto how = co_await give_up(entry, to_dlq, after.reason, after.retry_count);
        co_return how;
    }
    }
    co_return delivered::retry;
}

awaitable<detail::delivered> consumer_group::impl::give_up(stream_entry const& entry, bool to_dlq, std::string const& reason, std::uint64_t retries)
{
    if (!to_dlq || fenced_out()) {
        if (!to_dlq) {
            ++counters().kept_without_dlq;
            log().error("redis bus: entry {} of '{}' (group '{}') cannot be processed and stays pending (DLQ "
                        "disabled): {}",
                        entry.id, bus->stream, name, reason);
        }
        drop_in_flight(entry.id);
        co_return to_dlq ? delivered::fenced : delivered::kept;
    }
    co_await detail::dead_letter(*bus, name, entry, reason, retries);
    had_failures.erase(entry.id);
    forget(entry.id);
    drop_in_flight(entry.id);
    co_return delivered::dead_lettered;
}

awaitable<void> consumer_group::impl::read_loop()
{
    std::string cursor = "0";  // our own pending entries first (after a restart), then new ones
    auto const& cfg = bus->cfg;
    while (!stopping) {
        if (fenced_out()) {
            // A partition whose lease is gone: take no more entries (the new owner's); the
            // partitioned bus stops this group at its next lease round.
            co_await pause(std::chrono::milliseconds(50));
            continue;
        }
        std::string failure;
        bool no_group = false;
        std::vector<std::string> batch;
        try {
            xreadgroup_options opts;
            opts.count = cfg.batch_size;
            if (cfg.block_time.count() > 0)
                opts.block = cfg.block_time;
            auto messages = co_await xreadgroup(*blocking, name, bus->consumer, bus->stream, cursor, opts);
            std::vector<stream_entry> entries;
            if (!messages.empty())
                entries = std::move(messages.front().entries);
            bool from_pel = cursor != ">";
            if (from_pel)
                cursor = entries.empty() ? std::string(">") : entries.back().id;
            std::map<std::string, std::uint64_t> failures;
            if (from_pel && !entries.empty())
                failures = co_await failure_counts(entries);
            for (auto const& e : entries) {
                add_in_flight(e.id);
                batch.push_back(e.id);
            }
            for (auto const& e : entries) {
                if (stopping || fenced_out())
                    break;  // the rest stays pending in our PEL
                auto f = failures.contains(e.id) ? failures[e.id] : 0;
                co_await deliver(e, f, cfg.max_retries, false);
            }
            co_await flush_acks();
            if (entries.empty() && !opts.block)
                co_await pause(std::chrono::milliseconds(10));
        } catch (server_error const& e) {
            failure = e.what();
            no_group = e.kind() == "NOGROUP";
        } catch (std::exception const& e) {
            failure = e.what();
        }
        // Acked, given up, or left pending by a stop or a failure: none is in flight any more.
        for (auto const& id : batch)
            drop_in_flight(id);
        if (failure.empty())
            continue;
        if (stopping)
            break;
        log().warn("redis bus: reading '{}' as group '{}' failed: {}; retrying", bus->stream, name, failure);
        cursor = "0";  // a lost XREADGROUP reply may have delivered entries to our PEL
        co_await pause(std::chrono::milliseconds(50));
        if (no_group && !stopping) {
            try {
                co_await bus->ensure_group(name);  // the stream was deleted or the server lost it
            } catch (es::error const& e) {
                log().warn("redis bus: recreating group '{}' failed: {}", name, e.what());
            }
        }
    }
}

consumer_group::consumer_group(std::shared_ptr<detail::bus_context> bus, std::string name,
                               std::optional<consumer_fence> fence)
    : impl_(std::make_shared<impl>(std::move(bus), std::move(name), std::move(fence)))
{
}

consumer_group::~consumer_group()
{
    if (!impl_->started)
        return;  // nothing runs, and the io_context may be gone already
    request_stop();
    impl_->tasks.cancel();
}

awaitable<void> consumer_group::start()
{
    auto self = impl_;
    if (self->started.exchange(true))
        co_return;
    co_await self->bus->ensure_group(self->name);
    self->blocking = self->bus->make_connection(true, self->tasks);
    self->tasks.spawn(self->strand, impl::run_read_loop(self), "read loop of group '" + self->name + "'");
    self->tasks.spawn(self->strand, impl::run_recovery(self), "pending recovery of group '" + self->name + "'");
    if (self->bus->cfg.pending_idle_time.count() > 0)
        self->tasks.spawn(self->strand, impl::run_keeper(self), "ownership keeper of group '" + self->name + "'");
}

void consumer_group::request_stop()
{
    auto self = impl_;
    if (self->blocking)
        self->blocking->cancel();  // ends a waiting XREADGROUP at once, and the connection's run()
    asio::dispatch(self->strand, [self] { self->on_stop(); });
}

awaitable<void> consumer_group::stop(std::chrono::milliseconds drain)
{
    auto self = impl_;
    if (!self->started)
        co_return;
    request_stop();
    bool drained = co_await self->tasks.join_for(drain);
    if (!drained) {
        self->log().warn("redis bus: group '{}' of '{}': handlers still running after {} ms; cancelling them",
                         self->name, self->bus->stream, drain.count());
        self->tasks.cancel();
        co_await self->tasks.join();
    }
    if (self->blocking) {
        auto n = self->blocking->stats().connects;
        self->bus->counters.past_reconnections += n > 1 ? n - 1 : 0;
    }
    // Leave the group tidy: this consumer goes when nothing of it is pending (otherwise another
    // consumer's recovery takes its entries, and the idle clean-up removes it later).
    std::string failure;
    try {
        co_await self->remove_consumers(true);
    } catch (std::exception const& e) {
        failure = e.what();
    }
    if (!failure.empty())
        self->log().warn("redis bus: could not remove consumer '{}' from group '{}' of '{}': {}", self->bus->consumer,
                         self->name, self->bus->stream, failure);
}

awaitable<recovery_result> consumer_group::recover(std::chrono::milliseconds min_idle, std::uint32_t max_retries,
                                                   std::size_t batch_size)
{
    auto self = impl_;
    // On the group's strand: recovery shares the in-flight set with the read loop.
    auto pass = [self, min_idle, max_retries, batch_size]() { return self->recover(min_idle, max_retries, batch_size); };
    auto result = co_await asio::co_spawn(self->strand, std::move(pass), asio::use_awaitable);
    co_return result;
}

std::string const& consumer_group::name() const noexcept { return impl_->name; }
std::size_t consumer_group::in_flight() const noexcept { return impl_->in_flight_count; }
bool consumer_group::running() const noexcept { return impl_->tasks.running() > 0; }
std::uint64_t consumer_group::reconnections() const noexcept
{
    auto const& b = impl_->blocking;
    auto n = b ? b->stats().connects : 0;
    return n > 1 ? n - 1 : 0;
}

}  // namespace es::redis
