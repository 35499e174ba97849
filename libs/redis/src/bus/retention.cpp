// Retention of a bus' stream: trimming that never removes what a consumer group has not been
// delivered or still has pending, on demand and on a schedule; and the forced, unsafe trims.
#include "stream_bus_state.hpp"

#include <es/log.hpp>
#include <es/redis/client/script.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <spdlog/spdlog.h>

namespace es::redis {

namespace {
// KEYS: stream. ARGV: min id by age ('' for none), max length ('' for none), most entries the
// length limit removes per call. Returns {removed, first id kept, limited by a group (0/1)}.
// Redis 7.0 has no XTRIM … ACKED: the floor is computed here, atomically with the trim. A group
// keeps everything after its last-delivered-id and everything it has pending.
script const retention_script(R"lua(
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function less(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  if am ~= bm then return am < bm end
  return as < bs
end
local function successor(id)
  local ms, seq = parse(id)
  return string.format('%.0f-%.0f', ms, seq + 1)
end
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, '', 0} end
local target = nil
if ARGV[1] ~= '' then target = ARGV[1] end
if ARGV[2] ~= '' then
  local excess = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[2])
  if excess > 0 then
    if excess > tonumber(ARGV[3]) then excess = tonumber(ARGV[3]) end
    local r = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', excess)
    local by_length = successor(r[#r][1])
    if target == nil or less(target, by_length) then target = by_length end
  end
end
if target == nil then return {0, '', 0} end
local limited = 0
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local info = {}
  for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
  local keep = successor(info['last-delivered-id'])
  local pending = redis.call('XPENDING', KEYS[1], info['name'])
  if pending[1] > 0 and less(pending[2], keep) then keep = pending[2] end
  if less(keep, target) then
    target = keep
    limited = 1
  end
end
return {redis.call('XTRIM', KEYS[1], 'MINID', target), target, limited}
)lua");

constexpr std::uint64_t most_removed_per_call = 100000;

std::string min_id_for_age(std::chrono::milliseconds age)
{
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
    return std::to_string(std::max<std::int64_t>((now_ms - age).count(), 0)) + "-0";
}

awaitable<retention_result> retain(detail::bus_context& ctx, std::optional<std::uint64_t> max_length,
                                   std::optional<std::chrono::milliseconds> max_age)
{
    std::vector<std::string> keys{ctx.stream};
    std::vector<std::string> args{max_age ? min_id_for_age(*max_age) : std::string(),
                                  max_length ? std::to_string(*max_length) : std::string(),
                                  std::to_string(most_removed_per_call)};
    auto r = co_await eval(ctx.conn(), retention_script, std::move(keys), std::move(args));
    retention_result out;
    if (r.elements.size() == 3) {
        out.removed = r.elements[0].integer;
        out.kept_from = r.elements[1].str;
        out.limited_by_groups = r.elements[2].integer != 0;
    }
    ctx.counters.retention_removed += static_cast<std::uint64_t>(std::max<std::int64_t>(out.removed, 0));
    co_return out;
}

// The scheduled pass; ends when stream_bus::shutdown() (or the destructor) cancels it.
awaitable<void> retention_loop(std::shared_ptr<detail::bus_context> ctx)
{
    auto const& cfg = ctx->cfg;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
        timer.expires_after(cfg.retention_interval);
        auto [ec] = co_await timer.async_wait(use_nothrow);
        if (ec)
            co_return;  // cancelled
        std::string failure;
        try {
            auto r = co_await retain(*ctx, cfg.retention_max_length, cfg.retention_max_age);
            if (r.removed > 0 || r.limited_by_groups)
                ctx->log->info("redis bus: retention of '{}' removed {} entries{}", ctx->stream, r.removed,
                               r.limited_by_groups ? " (held back by a group's undelivered or pending entries)" : "");
        } catch (std::exception const& e) {
            failure = e.what();
        }
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none)
            co_return;
        if (!failure.empty())
            ctx->log->warn("redis bus: retention of '{}' failed: {}", ctx->stream, failure);
    }
}
}  // namespace

namespace detail {
void start_retention(stream_bus::state& s)
{
    auto const& cfg = s.ctx->cfg;
    if (!cfg.retention_max_length && !cfg.retention_max_age)
        return;
    s.maintenance.spawn(s.ctx->ex, retention_loop(s.ctx), "retention of '" + s.ctx->stream + "'");
}
}  // namespace detail

awaitable<retention_result> stream_bus::apply_retention(std::optional<std::uint64_t> max_length,
                                                        std::optional<std::chrono::milliseconds> max_age)
{
    auto ctx = state_->ctx;
    co_await ctx->bind();
    co_return co_await retain(*ctx, max_length, max_age);
}

awaitable<std::int64_t> stream_bus::trim(std::uint64_t max_len)
{
    std::optional<std::uint64_t> length = max_len;
    auto r = co_await apply_retention(length, std::nullopt);
    co_return r.removed;
}

awaitable<std::int64_t> stream_bus::trim_older_than(std::chrono::milliseconds age)
{
    std::optional<std::chrono::milliseconds> max_age = age;
    auto r = co_await apply_retention(std::nullopt, max_age);
    co_return r.removed;
}

awaitable<std::int64_t> stream_bus::force_trim(std::uint64_t max_len)
{
    auto ctx = state_->ctx;
    co_await ctx->bind();
    co_return co_await xtrim_maxlen(ctx->conn(), ctx->stream, max_len, false);
}

awaitable<std::int64_t> stream_bus::force_trim_older_than(std::chrono::milliseconds age)
{
    auto ctx = state_->ctx;
    co_await ctx->bind();
    co_return co_await xtrim_minid(ctx->conn(), ctx->stream, min_id_for_age(age), false);
}

}  // namespace es::redis
