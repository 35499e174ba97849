// es::redis::pull_consumer: a consumer group read on demand. It shares the bus' context (names,
// counters, the shared connection for acks and dead letters) and has a blocking connection of
// its own, whose run() the bus' connection_tasks own.
#include "bus_context.hpp"
#include "dead_letters.hpp"
#include "stream_bus_codec.hpp"
#include "stream_bus_state.hpp"

#include <es/redis/bus/pull_consumer.hpp>
#include <es/redis/bus/stream_bus.hpp>

#include <deque>

namespace es::redis {

namespace detail {
struct pull_state {
    std::shared_ptr<bus_context> bus;
    std::string group;
    std::string name;
    std::shared_ptr<connection> blocking;
    task_group tasks;  // the blocking connection's run()
    std::deque<stream_entry> buffered;
    std::string cursor = "0";
};
}  // namespace detail

awaitable<pull_consumer> stream_bus::make_consumer(std::string group, std::string consumer_name)
{
    auto ctx = state_->ctx;
    co_await ctx->bind();
    co_await ctx->ensure_group(group);
    auto st = std::make_shared<detail::pull_state>();
    st->bus = ctx;
    st->group = std::move(group);
    st->name = std::move(consumer_name);
    st->blocking = ctx->make_connection(true, st->tasks);
    co_return pull_consumer(st);
}

pull_consumer::pull_consumer(std::shared_ptr<detail::pull_state> state) : state_(std::move(state)) {}
pull_consumer::pull_consumer(pull_consumer&&) noexcept = default;
pull_consumer::~pull_consumer()
{
    close();
}

void pull_consumer::close()
{
    if (state_ && state_->blocking)
        state_->blocking->cancel();
}

awaitable<void> pull_consumer::stop()
{
    auto st = state_;
    close();
    if (st)
        co_await st->tasks.join();
}

awaitable<std::optional<pull_consumer::delivery>> pull_consumer::next(std::chrono::milliseconds wait)
{
    auto st = state_;
    auto& bus = *st->bus;
    auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
        while (!st->buffered.empty()) {
            auto entry = std::move(st->buffered.front());
            st->buffered.pop_front();
            ++bus.counters.consumed;
            auto env = detail::decode_envelope(entry);
            if (!env) {
                ++bus.counters.malformed;
                co_await detail::dead_letter(bus, st->group, entry, "malformed entry: " + env.error().message, 0);
                continue;
            }
            delivery d;
            d.event = std::move(*env);
            d.message_id = entry.id;
            d.state_ = st;
            co_return d;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 && st->cursor == ">")
            co_return std::nullopt;
        xreadgroup_options opts;
        opts.count = bus.cfg.batch_size;
        if (st->cursor == ">")
            opts.block = std::max(left, std::chrono::milliseconds(1));
        auto messages = co_await xreadgroup(*st->blocking, st->group, st->name, bus.stream, st->cursor, opts);
        std::vector<stream_entry> entries;
        if (!messages.empty())
            entries = std::move(messages.front().entries);
        if (st->cursor != ">")
            st->cursor = entries.empty() ? std::string(">") : entries.back().id;
        for (auto& e : entries)
            st->buffered.push_back(std::move(e));
    }
}

awaitable<pull_consumer::delivery> pull_consumer::next()
{
    for (;;) {
        auto d = co_await next(std::chrono::milliseconds(5000));
        if (d)
            co_return std::move(*d);
    }
}

awaitable<void> pull_consumer::delivery::ack() const
{
    auto st = state_;
    std::vector<std::string> ids{message_id};
    co_await xack(st->bus->conn(), st->bus->stream, st->group, ids);
    ++st->bus->counters.processed_ok;
}

}  // namespace es::redis
