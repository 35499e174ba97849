// The dead-letter stream of a bus.
#include "dead_letters.hpp"

#include "stream_bus_codec.hpp"

#include <es/redis/client/error.hpp>

#include <spdlog/spdlog.h>

#include <cstdlib>

namespace es::redis::detail {

awaitable<void> dead_letter(bus_context& bus, std::string const& group, stream_entry const& entry, std::string reason,
                            std::uint64_t retry_count)
{
    field_list fields;
    for (auto const& [k, v] : entry.fields)
        if (k != replay_group_field)  // a replay's target is decided again at the next replay
            fields.emplace_back(k, v);
    fields.emplace_back("dlq_original_id", entry.id);
    fields.emplace_back("dlq_original_stream", bus.stream);
    fields.emplace_back("dlq_group", group);
    fields.emplace_back("dlq_reason", reason);
    fields.emplace_back("dlq_retry_count", std::to_string(retry_count));
    fields.emplace_back("dlq_failed_at", format_timestamp(now()));
    request req;
    xadd_options opts;
    push_xadd(req, bus.dlq, fields, opts);
    std::vector<std::string> ids{entry.id};
    push_xack(req, bus.stream, group, ids);
    req.push("HDEL", bus.failures_key(group), entry.id);
    co_await transaction(bus.conn(), req);
    ++bus.counters.sent_to_dlq;
    bus.log->warn("redis bus: entry {} of '{}' (group '{}') moved to '{}': {}", entry.id, bus.stream, group, bus.dlq,
                  reason);
}

dlq_message to_dlq_message(stream_entry const& e)
{
    dlq_message m;
    m.message_id = e.id;
    for (auto const& [k, v] : e.fields) {
        if (k == "dlq_original_id")
            m.original_id = v;
        else if (k == "dlq_group")
            m.group = v;
        else if (k == "dlq_reason")
            m.reason = v;
        else if (k == "dlq_retry_count")
            m.retry_count = std::strtoull(v.c_str(), nullptr, 10);
        else if (k == "dlq_failed_at")
            m.failed_at = v;
        else if (k.starts_with(dlq_field_prefix))
            continue;
        else {
            if (k == "event_type")
                m.event_type = v;
            m.original_fields.emplace_back(k, v);
        }
    }
    return m;
}

awaitable<std::vector<dlq_message>> read_dead_letters(bus_context& bus, std::size_t count, std::string from_id,
                                                      std::string to_id)
{
    auto entries = co_await xrange(bus.conn(), bus.dlq, from_id, to_id, count);
    std::vector<dlq_message> out;
    for (auto const& e : entries)
        out.push_back(to_dlq_message(e));
    co_return out;
}

awaitable<bool> replay_dead_letter(bus_context& bus, std::string dlq_id)
{
    auto entries = co_await xrange(bus.conn(), bus.dlq, dlq_id, dlq_id, 1);
    if (entries.empty())
        co_return false;
    auto m = to_dlq_message(entries.front());
    field_list fields;
    for (auto const& [k, v] : m.original_fields)
        if (k != replay_group_field)
            fields.emplace_back(k, v);
    if (!m.group.empty())
        fields.emplace_back(std::string(replay_group_field), m.group);
    request req;
    xadd_options opts;
    opts.max_len = bus.cfg.max_stream_length;
    push_xadd(req, bus.stream, fields, opts);
    req.push("XDEL", bus.dlq, dlq_id);
    co_await transaction(bus.conn(), req);
    bus.log->info("redis bus: replayed DLQ entry {} (originally {}) to '{}' for group '{}'", dlq_id, m.original_id,
                  bus.stream, m.group.empty() ? std::string("(every group)") : m.group);
    co_return true;
}

awaitable<std::size_t> replay_all_dead_letters(bus_context& bus)
{
    // The snapshot: what the DLQ holds now. An entry that fails again lands after `last` and is
    // left for the next replay, so a poison entry cannot loop.
    auto newest = co_await xrevrange(bus.conn(), bus.dlq, "+", "-", 1);
    if (newest.empty())
        co_return 0;
    auto const last = newest.front().id;
    std::size_t n = 0;
    std::string from = "-";
    for (;;) {
        auto entries = co_await xrange(bus.conn(), bus.dlq, from, last, 100);
        if (entries.empty())
            break;
        for (auto const& e : entries)
            if (co_await replay_dead_letter(bus, e.id))
                ++n;
        from = "(" + entries.back().id;
        if (entries.back().id == last)
            break;
    }
    co_return n;
}

awaitable<std::size_t> purge_dead_letters(bus_context& bus)
{
    request req;
    req.push("XLEN", bus.dlq).push("DEL", bus.dlq);
    auto replies = co_await bus.conn().exec(req);
    co_return static_cast<std::size_t>(replies.at(0).integer);
}

}  // namespace es::redis::detail
