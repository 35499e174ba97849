// es::redis::stream_bus: publishing, subscriptions, statistics, and the lifetime of the bus'
// consumer groups. The groups themselves are consumer_group.cpp; the DLQ, info, history, replay
// and trim calls are stream_admin.cpp; the pull consumer is pull_consumer.cpp.
#include "stream_bus_codec.hpp"
#include "stream_bus_state.hpp"

#include <es/log.hpp>
#include <es/redis/bus/stream_bus.hpp>
#include <es/redis/client/error.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <utility>

#include <unistd.h>

namespace es::redis {

std::string default_consumer_name()
{
    char host[256] = "host";
    ::gethostname(host, sizeof host - 1);
    std::random_device rd;
    char suffix[9];
    std::snprintf(suffix, sizeof suffix, "%08x", rd());
    return std::string(host) + "-" + std::to_string(::getpid()) + "-" + suffix;
}

namespace {
// Time enough for a group that was told to stop to finish its handlers without being cancelled.
constexpr std::chrono::milliseconds unbounded_drain = std::chrono::hours(24);
}  // namespace

stream_bus::stream_bus(stream_bus_config cfg) : stream_bus(asio::any_io_executor(), std::move(cfg)) {}

stream_bus::stream_bus(asio::any_io_executor ex, stream_bus_config cfg) : state_(std::make_shared<state>())
{
    state_->ctx = std::make_shared<detail::bus_context>(std::move(cfg));
    state_->ctx->ex = ex;
}

stream_bus::~stream_bus()
{
    // The groups' destructors cancel their coroutines and handlers; the connections' run()
    // coroutines end on cancel(). None of it can be awaited here: shutdown() does that.
    auto groups = state_->take_groups();
    for (auto const& g : groups)
        g->request_stop();
    groups.clear();
    std::lock_guard lock(state_->ctx->conn_mutex);
    if (state_->ctx->shared)
        state_->ctx->shared->cancel();
}

awaitable<void> stream_bus::publish(std::span<event_envelope const> events)
{
    if (events.empty())
        co_return;
    auto ctx = state_->ctx;
    co_await ctx->bind();
    request req;
    xadd_options opts;
    opts.max_len = ctx->cfg.max_stream_length;
    for (auto const& e : events) {
        auto fields = detail::encode_envelope(e);
        push_xadd(req, ctx->publish_stream, fields, opts);
        if (ctx->cfg.per_type_streams)
            push_xadd(req, type_stream_name(e.event_type), fields, opts);
    }
    if (ctx->cfg.atomic_publish) {
        co_await transaction(ctx->conn(), req);
    } else {
        auto replies = co_await ctx->conn().exec(req);
        for (auto const& r : replies)
            throw_if_error(r, "XADD " + ctx->publish_stream);
    }
    ctx->counters.published += events.size();
}

subscription_id stream_bus::add_subscription(subscription s)
{
    return add_subscription(state_->ctx->cfg.consumer_group, std::move(s));
}

subscription_id stream_bus::add_subscription(std::string const& group, subscription s)
{
    auto& ctx = *state_->ctx;
    auto names = ctx.group_names();
    if (std::find(names.begin(), names.end(), group) == names.end())
        throw es::error(es::errc::invalid_argument,
                        "redis bus on '" + ctx.stream + "': '" + group + "' is not one of its consumer groups");
    std::lock_guard lock(ctx.subs_mutex);
    auto id = ctx.next_id++;
    ctx.subs.push_back(std::make_shared<detail::subscription_entry const>(detail::subscription_entry{id, group, std::move(s)}));
    return id;
}

bool stream_bus::unsubscribe(subscription_id id)
{
    auto& ctx = *state_->ctx;
    std::lock_guard lock(ctx.subs_mutex);
    auto it = std::find_if(ctx.subs.begin(), ctx.subs.end(), [&](auto const& e) { return e->id == id; });
    if (it == ctx.subs.end())
        return false;
    ctx.subs.erase(it);
    return true;
}

std::size_t stream_bus::subscriber_count(std::string_view event_type) const
{
    auto& ctx = *state_->ctx;
    std::lock_guard lock(ctx.subs_mutex);
    return std::count_if(ctx.subs.begin(), ctx.subs.end(), [&](auto const& e) {
        auto const& t = e->sub.event_types;
        return std::find(t.begin(), t.end(), event_type) != t.end();
    });
}

std::size_t stream_bus::wildcard_subscriber_count() const
{
    auto& ctx = *state_->ctx;
    std::lock_guard lock(ctx.subs_mutex);
    return std::count_if(ctx.subs.begin(), ctx.subs.end(), [](auto const& e) { return e->sub.event_types.empty(); });
}

std::size_t stream_bus::subscriber_count() const
{
    auto& ctx = *state_->ctx;
    std::lock_guard lock(ctx.subs_mutex);
    return ctx.subs.size();
}

bus_stats stream_bus::stats() const
{
    return detailed_stats();
}

stream_bus_stats stream_bus::detailed_stats() const
{
    auto& ctx = *state_->ctx;
    auto& c = ctx.counters;
    stream_bus_stats out;
    out.published = c.published;
    out.consumed = c.consumed;
    out.delivered = c.consumed;
    out.handler_successes = c.handler_ok;
    out.handler_failures = c.handler_failed;
    out.processed_ok = c.processed_ok;
    out.processed_failed = c.processed_failed;
    out.recovered = c.recovered;
    out.sent_to_dlq = c.sent_to_dlq;
    out.kept_without_dlq = c.kept_without_dlq;
    out.skipped_other_group = c.skipped_other_group;
    out.consumers_removed = c.consumers_removed;
    out.retention_removed = c.retention_removed;
    out.unknown_type = c.unknown_type;
    out.malformed = c.malformed;
    out.pending_deleted = c.pending_deleted;
    out.reconnections = c.past_reconnections;
    {
        std::lock_guard lock(ctx.conn_mutex);
        if (ctx.shared) {
            auto n = ctx.shared->stats().connects;
            out.reconnections += n > 1 ? n - 1 : 0;
        }
    }
    {
        std::lock_guard lock(state_->mutex);
        for (auto const& g : state_->groups)
            out.reconnections += g->reconnections();
    }
    std::tie(out.handler_latency_p50, out.handler_latency_p99) = c.latency.percentiles();
    return out;
}

awaitable<void> stream_bus::connect()
{
    auto ctx = state_->ctx;
    co_await ctx->bind();
    // Fails at the first refused or failed attempt instead of at the command timeout.
    co_await ctx->conn().wait_ready();
    for (auto const& name : ctx->group_names())
        co_await ctx->ensure_group(name);
}

void stream_bus::set_fence(consumer_fence fence)
{
    state_->fence = std::move(fence);
}

awaitable<void> stream_bus::start()
{
    auto s = state_;
    co_await s->ctx->bind();
    {
        std::lock_guard lock(s->mutex);
        if (s->started)
            co_return;
    }
    // Groups told to stop by stop_consuming() end first: one consumer per group at a time.
    for (auto const& g : s->take_groups())
        co_await g->stop(unbounded_drain);
    co_await connect();
    std::vector<std::shared_ptr<consumer_group>> groups;
    for (auto const& name : s->ctx->group_names())
        groups.push_back(std::make_shared<consumer_group>(s->ctx, name, s->fence));
    {
        std::lock_guard lock(s->mutex);
        if (s->started)
            co_return;  // another start() won the race; ours are dropped unstarted
        s->started = true;
        s->groups = groups;
    }
    for (auto const& g : groups)
        co_await g->start();
    if (s->maintenance.running() == 0)
        detail::start_retention(*s);
}

void stream_bus::stop_consuming()
{
    std::lock_guard lock(state_->mutex);
    state_->started = false;
    for (auto const& g : state_->groups)
        g->request_stop();
}

awaitable<void> stream_bus::shutdown(std::chrono::milliseconds timeout)
{
    auto s = state_;
    auto ctx = s->ctx;
    co_await ctx->bind();
    auto groups = s->take_groups();
    for (auto const& g : groups)
        g->request_stop();  // all groups drain at the same time
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (auto const& g : groups) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        co_await g->stop(std::max(left, std::chrono::milliseconds(0)));
    }
    groups.clear();
    s->maintenance.cancel();
    co_await s->maintenance.join();
    // Release the shared connection now, while the executor still runs: a bus can outlive its
    // io_context (a test fixture), and then must hold no I/O object bound to it. start() and the
    // other calls create it again.
    co_await ctx->close_connections();
    std::lock_guard lock(ctx->conn_mutex);
    if (ctx->lazily_bound)
        ctx->ex = asio::any_io_executor();
}

std::string const& stream_bus::stream_name() const noexcept { return state_->ctx->stream; }
std::string const& stream_bus::dlq_stream_name() const noexcept { return state_->ctx->dlq; }
std::string stream_bus::type_stream_name(std::string_view event_type) const
{
    return state_->ctx->cfg.stream_prefix + ":type:" + std::string(event_type);
}
std::string const& stream_bus::consumer_name() const noexcept { return state_->ctx->consumer; }
redis::connection& stream_bus::redis()
{
    return state_->ctx->conn();
}

}  // namespace es::redis
