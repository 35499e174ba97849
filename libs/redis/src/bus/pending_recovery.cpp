// es::redis::consumer_group: the pending-recovery pass (XAUTOCLAIM over the whole PEL), the
// ownership keeper that keeps entries in flight from being claimed, and the consumer clean-up.
#include "consumer_group_impl.hpp"

#include <es/redis/client/script.hpp>

#include <algorithm>

namespace es::redis {

namespace {
using clock = std::chrono::steady_clock;

// KEYS: stream. ARGV: group, consumer, ids… Resets the idle time of the ids still pending for
// `consumer` (XCLAIM JUSTID does not count a delivery) and returns them; an id someone else has
// claimed meanwhile is left alone, so the refresh never takes an entry back.
script const keep_script(R"lua(
local kept = {}
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if p[1] and p[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    kept[#kept + 1] = ARGV[i]
  end
end
return kept
)lua");

// KEYS: stream. ARGV: group, consumer to remove if it has nothing pending (or ""), idle ms
// threshold (0: none). Removes that consumer, and every consumer with nothing pending idle for
// at least the threshold; returns how many. Never removes a consumer with pending entries
// (XGROUP DELCONSUMER would drop them from the group's PEL).
script const cleanup_script(R"lua(
local removed = 0
local threshold = tonumber(ARGV[3])
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local info = {}
  for i = 1, #c, 2 do info[c[i]] = c[i + 1] end
  if tonumber(info['pending']) == 0 and
     (info['name'] == ARGV[2] or (threshold > 0 and tonumber(info['idle']) >= threshold)) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
    removed = removed + 1
  end
end
return removed
)lua");
}  // namespace

using detail::delivered;
using detail::push_key_and_ids;

// HMGET of the recorded handler failures of `entries`.
awaitable<std::map<std::string, std::uint64_t>> consumer_group::impl::failure_counts(std::vector<stream_entry> const& entries)
{
    std::vector<std::string> ids;
    for (auto const& e : entries)
        ids.push_back(e.id);
    request req;
    push_key_and_ids(req, "HMGET", bus->failures_key(name), ids);
    auto r = co_await bus->conn().call(req);
    std::map<std::string, std::uint64_t> out;
    for (std::size_t i = 0; i < ids.size() && i < r.elements.size(); ++i)
        if (r.elements[i].is_string())
            out[ids[i]] = std::strtoull(r.elements[i].str.c_str(), nullptr, 10);
    co_return out;
}

awaitable<recovery_result> consumer_group::impl::recover(std::chrono::milliseconds min_idle, std::uint32_t max_retries, std::size_t batch)
{
    recovery_result r;
    std::string cursor = "0-0";
    do {
        auto page = co_await xautoclaim(bus->conn(), bus->stream, name, bus->consumer, min_idle, cursor,
                                        std::max<std::size_t>(batch, 1));
        r.deleted += page.deleted_ids.size();
        r.checked += page.entries.size() + page.deleted_ids.size();
        r.claimed += page.entries.size();
        if (!page.deleted_ids.empty()) {
            // Redis has already removed them from the PEL.
            counters().pending_deleted += page.deleted_ids.size();
            log().warn("redis bus: {} pending entries of '{}' (group '{}') were trimmed or deleted before being "
                       "processed",
                       page.deleted_ids.size(), bus->stream, name);
        }
        // Not a conditional expression around co_await: g++ 12 destroys its temporaries twice.
        std::map<std::string, std::uint64_t> failures;
        if (!page.entries.empty())
            failures = co_await failure_counts(page.entries);
        for (auto const& e : page.entries) {
            if (stopping || fenced_out())
                break;
            if (in_flight.contains(e.id)) {
                ++r.skipped;  // our own handler has it: never a second, concurrent delivery
                continue;
            }
            add_in_flight(e.id);
            auto f = failures.contains(e.id) ? failures[e.id] : 0;
            delivered how = delivered::retry;
            try {
                how = co_await deliver(e, f, max_retries, true);
            } catch (...) {
                drop_in_flight(e.id);
                throw;
            }
            drop_in_flight(e.id);
            switch (how) {
            case delivered::acked:
                ++r.reprocessed;
                ++counters().recovered;
                break;
            case delivered::retry:
                ++r.failed;
                break;
            case delivered::dead_lettered:
                ++r.sent_to_dlq;
                break;
            case delivered::kept:
                ++r.kept;
                break;
            case delivered::skipped:
                ++r.skipped;
                break;
            default:
                break;
            }
        }
        cursor = page.next_cursor;
    } while (cursor != "0-0" && !stopping);
    co_return r;
}

awaitable<void> consumer_group::impl::remove_consumers(bool self)
{
    std::vector<std::string> keys{bus->stream};
    std::vector<std::string> args{name, self ? bus->consumer : std::string(),
                                  std::to_string(bus->cfg.consumer_idle_cleanup.count())};
    auto removed = co_await eval(bus->conn(), cleanup_script, std::move(keys), std::move(args));
    if (removed.integer > 0) {
        counters().consumers_removed += static_cast<std::uint64_t>(removed.integer);
        log().info("redis bus: removed {} consumer(s) with nothing pending from group '{}' of '{}'", removed.integer,
                   name, bus->stream);
    }
}

awaitable<void> consumer_group::impl::recovery_loop()
{
    auto const& cfg = bus->cfg;
    if (cfg.recovery_interval.count() <= 0)
        co_return;
    while (!stopping) {
        co_await pause(cfg.recovery_interval);
        if (stopping)
            break;
        std::string failure;
        try {
            auto r = co_await recover(cfg.pending_idle_time, cfg.max_retries, cfg.recovery_batch_size);
            if (r.claimed > 0 || r.deleted > 0)
                log().info("redis bus: recovery of '{}' group '{}': claimed {}, reprocessed {}, failed {}, to DLQ "
                           "{}, kept {}, in flight {}, deleted {}",
                           bus->stream, name, r.claimed, r.reprocessed, r.failed, r.sent_to_dlq, r.kept, r.skipped,
                           r.deleted);
            if (cfg.consumer_idle_cleanup.count() > 0)
                co_await remove_consumers(false);
        } catch (std::exception const& e) {
            failure = e.what();
        }
        if (!failure.empty() && !stopping)
            log().warn("redis bus: recovery of '{}' group '{}' failed: {}", bus->stream, name, failure);
    }
}

// Refreshes the idle time of the entries in flight every third of pending_idle_time, so that
// recovery (ours or another process') never claims an entry whose handler is still running.
awaitable<void> consumer_group::impl::keeper()
{
    auto const idle = bus->cfg.pending_idle_time;
    auto const every = std::max(idle / 3, std::chrono::milliseconds(1));
    while (!stopping) {
        co_await pause(every);
        if (stopping || in_flight.empty())
            continue;
        std::vector<std::string> keys{bus->stream};
        std::vector<std::string> args{name, bus->consumer};
        for (auto const& id : in_flight)
            if (!lost.contains(id))
                args.push_back(id);
        std::string failure;
        try {
            auto kept = co_await eval(bus->conn(), keep_script, std::move(keys), args);
            std::set<std::string> still;
            for (auto const& k : kept.elements)
                still.insert(k.str);
            for (std::size_t i = 2; i < args.size(); ++i) {
                if (still.contains(args[i]) || !in_flight.contains(args[i]))
                    continue;
                lost.insert(args[i]);
                log().warn("redis bus: entry {} of '{}' (group '{}') was claimed by another consumer while its "
                           "handler ran here",
                           args[i], bus->stream, name);
            }
        } catch (std::exception const& e) {
            failure = e.what();
        }
        if (!failure.empty() && !stopping)
            log().warn("redis bus: refreshing in-flight entries of '{}' group '{}' failed: {}", bus->stream, name,
                       failure);
    }
}

}  // namespace es::redis
