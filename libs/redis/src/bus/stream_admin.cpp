// The admin calls of a stream bus: stream info, the DLQ, history, replay to this process'
// handlers, trimming, and a recovery pass on demand.
#include "dead_letters.hpp"
#include "stream_bus_codec.hpp"
#include "stream_bus_state.hpp"

#include <es/log.hpp>
#include <es/redis/client/error.hpp>

#include <spdlog/spdlog.h>

#include <cstdlib>

namespace es::redis {

namespace {
constexpr std::size_t page_size = 500;

std::optional<stored_event> to_stored(stream_entry const& e)
{
    auto env = detail::decode_envelope(e);
    if (!env)
        return std::nullopt;
    return stored_event{e.id, std::move(*env)};
}
}  // namespace

awaitable<stream_bus_info> stream_bus::stream_info()
{
    auto ctx = state_->ctx;
    co_await ctx->bind();
    auto& c = ctx->conn();
    stream_bus_info info;
    info.stream = ctx->stream;
    info.dlq_stream = ctx->dlq;
    request probe;
    probe.push("EXISTS", ctx->stream).push("XLEN", ctx->dlq);
    auto replies = co_await c.exec(probe);
    info.dlq_length = static_cast<std::uint64_t>(replies.at(1).integer);
    if (replies.at(0).integer == 0)
        co_return info;
    auto st = co_await xinfo_stream(c, ctx->stream);
    info.length = st.length;
    if (st.first_entry)
        info.first_id = st.first_entry->id;
    if (st.last_entry)
        info.last_id = st.last_entry->id;
    for (auto& g : co_await xinfo_groups(c, ctx->stream)) {
        group_status gs;
        gs.name = g.name;
        gs.consumers = g.consumers;
        gs.pending = g.pending;
        gs.last_delivered_id = g.last_delivered_id;
        gs.lag = g.lag;
        gs.consumer_list = co_await xinfo_consumers(c, ctx->stream, g.name);
        info.total_pending += g.pending;
        info.groups.push_back(std::move(gs));
    }
    co_return info;
}

awaitable<std::vector<dlq_message>> stream_bus::dlq_messages(std::size_t count)
{
    return dlq_messages(count, "-", "+");
}

awaitable<std::vector<dlq_message>> stream_bus::dlq_messages(std::size_t count, std::string from_id, std::string to_id)
{
    auto ctx = state_->ctx;
    co_await ctx->bind();
    co_return co_await detail::read_dead_letters(*ctx, count, std::move(from_id), std::move(to_id));
}

awaitable<bool> stream_bus::replay_dlq_message(std::string dlq_message_id)
{
    auto ctx = state_->ctx;
    co_await ctx->bind();
    co_return co_await detail::replay_dead_letter(*ctx, std::move(dlq_message_id));
}

awaitable<std::size_t> stream_bus::replay_all_dlq_messages()
{
    auto ctx = state_->ctx;
    co_await ctx->bind();
    co_return co_await detail::replay_all_dead_letters(*ctx);
}

awaitable<std::size_t> stream_bus::purge_dlq()
{
    auto ctx = state_->ctx;
    co_await ctx->bind();
    co_return co_await detail::purge_dead_letters(*ctx);
}

awaitable<recovery_result> stream_bus::recover_pending_messages(std::chrono::milliseconds min_idle,
                                                                std::uint32_t max_retries, std::size_t batch_size)
{
    auto s = state_;
    co_await s->ctx->bind();
    std::shared_ptr<consumer_group> group;
    {
        std::lock_guard lock(s->mutex);
        for (auto const& g : s->groups)
            if (g->name() == s->ctx->cfg.consumer_group)
                group = g;
    }
    // Not consuming: a group of our own for this one pass (nothing of it is in flight).
    if (!group)
        group = std::make_shared<consumer_group>(s->ctx, s->ctx->cfg.consumer_group, s->fence);
    co_return co_await group->recover(min_idle, max_retries, batch_size);
}

awaitable<recovery_result> stream_bus::recover_pending_messages()
{
    auto const& cfg = state_->ctx->cfg;
    return recover_pending_messages(cfg.pending_idle_time, cfg.max_retries, cfg.recovery_batch_size);
}

awaitable<std::optional<event_envelope>> stream_bus::get_event(std::string message_id)
{
    auto ctx = state_->ctx;
    co_await ctx->bind();
    auto entries = co_await xrange(ctx->conn(), ctx->stream, message_id, message_id, 1);
    if (entries.empty())
        co_return std::nullopt;
    auto stored = to_stored(entries.front());
    if (!stored)
        co_return std::nullopt;
    co_return std::move(stored->event);
}

awaitable<std::vector<stored_event>> stream_bus::event_history(std::size_t count, std::string from_id, std::string to_id)
{
    auto ctx = state_->ctx;
    co_await ctx->bind();
    auto entries = co_await xrange(ctx->conn(), ctx->stream, from_id, to_id, count);
    std::vector<stored_event> out;
    for (auto const& e : entries)
        if (auto stored = to_stored(e))
            out.push_back(std::move(*stored));
    co_return out;
}

awaitable<std::vector<stored_event>> stream_bus::event_history(std::size_t count)
{
    return event_history(count, "-", "+");
}

awaitable<std::size_t> stream_bus::replay(std::string from_id, std::size_t count)
{
    return replay(std::move(from_id), count, std::string());
}

awaitable<std::size_t> stream_bus::replay(std::string from_id, std::size_t count, std::string event_type)
{
    auto ctx = state_->ctx;
    co_await ctx->bind();
    std::vector<stored_event> events;
    if (event_type.empty()) {
        events = co_await event_history(count, from_id, "+");
    } else {
        // Pages of the main stream, keeping the entries of that type until `count` of them.
        std::string from = from_id;
        while (events.size() < count) {
            auto entries = co_await xrange(ctx->conn(), ctx->stream, from, "+", page_size);
            for (auto const& e : entries)
                if (events.size() < count && detail::field_of(e, "event_type") == event_type)
                    if (auto stored = to_stored(e))
                        events.push_back(std::move(*stored));
            if (entries.size() < page_size)
                break;
            from = "(" + entries.back().id;
        }
    }
    for (auto const& stored : events) {
        for (auto const& h : ctx->matching(ctx->cfg.consumer_group, stored.event.event_type)) {
            std::exception_ptr failure;
            try {
                co_await h->sub.handler(stored.event);
            } catch (...) {
                failure = std::current_exception();
            }
            if (failure) {
                ++ctx->counters.handler_failed;
                ctx->log->error("redis bus: replay of {} to handler {} failed: {}", stored.message_id, h->id,
                                exception_message(failure));
            } else {
                ++ctx->counters.handler_ok;
            }
        }
    }
    co_return events.size();
}

awaitable<std::vector<stored_event>> stream_bus::latest_events(std::size_t count)
{
    return latest_events(count, std::string());
}

awaitable<std::vector<stored_event>> stream_bus::latest_events(std::size_t count, std::string event_type)
{
    auto ctx = state_->ctx;
    co_await ctx->bind();
    std::vector<stored_event> out;
    std::string end = "+";
    while (out.size() < count) {
        auto want = event_type.empty() ? count - out.size() : page_size;
        auto entries = co_await xrevrange(ctx->conn(), ctx->stream, end, "-", want);
        for (auto const& e : entries)
            if (out.size() < count && (event_type.empty() || detail::field_of(e, "event_type") == event_type))
                if (auto stored = to_stored(e))
                    out.push_back(std::move(*stored));
        if (entries.size() < want)
            break;
        end = "(" + entries.back().id;
    }
    co_return out;
}

awaitable<std::vector<pending_event>> stream_bus::pending_events(std::size_t count)
{
    return pending_events(count, state_->ctx->cfg.consumer_group);
}

awaitable<std::vector<pending_event>> stream_bus::pending_events(std::size_t count, std::string group)
{
    auto ctx = state_->ctx;
    co_await ctx->bind();
    xpending_range_options o;
    o.count = count;
    auto pending = co_await xpending_range(ctx->conn(), ctx->stream, group, o);
    std::vector<pending_event> out;
    if (pending.empty())
        co_return out;
    std::vector<std::string> ids;
    for (auto const& p : pending)
        ids.push_back(p.id);
    request failures;
    detail::push_key_and_ids(failures, "HMGET", ctx->failures_key(group), ids);
    auto counts = co_await ctx->conn().call(failures);
    for (std::size_t i = 0; i < pending.size(); ++i) {
        pending_event e;
        e.message_id = pending[i].id;
        e.consumer = pending[i].consumer;
        e.idle = pending[i].idle;
        e.deliveries = pending[i].deliveries;
        if (i < counts.elements.size() && counts.elements[i].is_string())
            e.failures = std::strtoull(counts.elements[i].str.c_str(), nullptr, 10);
        out.push_back(std::move(e));
    }
    co_return out;
}

}  // namespace es::redis
