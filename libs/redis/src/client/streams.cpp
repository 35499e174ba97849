// The typed stream commands as coroutines over a connection (builders and decoders are in
// streams_decode.cpp).
#include <es/redis/client/error.hpp>
#include <es/redis/client/streams.hpp>

namespace es::redis {
namespace {
template <class T>
T value_or_throw(result<T> r)
{
    if (!r)
        throw es::error(r.error().code, r.error().message);
    return std::move(*r);
}
}  // namespace

// ---- coroutines ----------------------------------------------------------------------------------

namespace {
awaitable<reply> one(connection& c, request const& req)
{
    auto replies = co_await c.exec(req);
    if (replies.size() != 1)
        throw es::error(make_error_code(errc::unexpected_reply), "redis " + req.summary() + ": expected one reply");
    co_return std::move(replies.front());
}
}  // namespace

awaitable<std::string> xadd(connection& c, std::string key, field_list fields, xadd_options opts)
{
    request req;
    push_xadd(req, key, fields, opts);
    auto r = co_await one(c, req);
    co_return value_or_throw(decode_string(r, "XADD " + key));
}

awaitable<std::string> xadd(connection& c, std::string key, field_list fields)
{
    return xadd(c, std::move(key), std::move(fields), xadd_options());
}

awaitable<std::vector<stream_messages>> xreadgroup(connection& c, std::string group, std::string consumer,
                                                   std::string key, std::string id, xreadgroup_options opts)
{
    request req;
    push_xreadgroup(req, group, consumer, key, id, opts);
    if (opts.block)
        req.timeout = *opts.block + c.get_config().command_timeout;
    auto r = co_await one(c, req);
    co_return value_or_throw(decode_xread(std::move(r)));
}

awaitable<std::int64_t> xack(connection& c, std::string key, std::string group, std::vector<std::string> ids)
{
    request req;
    push_xack(req, key, group, ids);
    req.idempotent = true;
    auto r = co_await one(c, req);
    co_return value_or_throw(decode_integer(r, "XACK " + key));
}

awaitable<xautoclaim_result> xautoclaim(connection& c, std::string key, std::string group, std::string consumer,
                                        std::chrono::milliseconds min_idle, std::string cursor, std::size_t count)
{
    request req;
    push_xautoclaim(req, key, group, consumer, min_idle, cursor, count);
    auto r = co_await one(c, req);
    co_return value_or_throw(decode_xautoclaim(std::move(r)));
}

awaitable<std::vector<stream_entry>> xclaim(connection& c, std::string key, std::string group, std::string consumer,
                                            std::chrono::milliseconds min_idle, std::vector<std::string> ids)
{
    request req;
    push_xclaim(req, key, group, consumer, min_idle, ids);
    auto r = co_await one(c, req);
    co_return value_or_throw(decode_entries(std::move(r), "XCLAIM " + key));
}

awaitable<pending_summary> xpending_summary(connection& c, std::string key, std::string group)
{
    request req;
    req.push("XPENDING", key, group);
    req.idempotent = true;
    auto r = co_await one(c, req);
    co_return value_or_throw(decode_xpending_summary(r));
}

awaitable<std::vector<pending_entry>> xpending_range(connection& c, std::string key, std::string group,
                                                     xpending_range_options opts)
{
    request req;
    push_xpending_range(req, key, group, opts);
    req.idempotent = true;
    auto r = co_await one(c, req);
    co_return value_or_throw(decode_xpending_range(r));
}

awaitable<stream_info_reply> xinfo_stream(connection& c, std::string key)
{
    request req;
    req.push("XINFO", "STREAM", key);
    req.idempotent = true;
    auto r = co_await one(c, req);
    co_return value_or_throw(decode_xinfo_stream(r));
}

awaitable<std::vector<group_info>> xinfo_groups(connection& c, std::string key)
{
    request req;
    req.push("XINFO", "GROUPS", key);
    req.idempotent = true;
    auto r = co_await one(c, req);
    co_return value_or_throw(decode_xinfo_groups(r));
}

awaitable<std::vector<consumer_info>> xinfo_consumers(connection& c, std::string key, std::string group)
{
    request req;
    req.push("XINFO", "CONSUMERS", key, group);
    req.idempotent = true;
    auto r = co_await one(c, req);
    co_return value_or_throw(decode_xinfo_consumers(r));
}

awaitable<std::vector<stream_entry>> xrange(connection& c, std::string key, std::string start, std::string end,
                                            std::size_t count)
{
    request req;
    if (count > 0)
        req.push("XRANGE", key, start, end, "COUNT", count);
    else
        req.push("XRANGE", key, start, end);
    req.idempotent = true;
    auto r = co_await one(c, req);
    co_return value_or_throw(decode_entries(std::move(r), "XRANGE " + key));
}

awaitable<std::vector<stream_entry>> xrevrange(connection& c, std::string key, std::string end, std::string start,
                                               std::size_t count)
{
    request req;
    if (count > 0)
        req.push("XREVRANGE", key, end, start, "COUNT", count);
    else
        req.push("XREVRANGE", key, end, start);
    req.idempotent = true;
    auto r = co_await one(c, req);
    co_return value_or_throw(decode_entries(std::move(r), "XREVRANGE " + key));
}

namespace {
// XTRIM key <MAXLEN|MINID> <~|=> threshold
awaitable<std::int64_t> xtrim(connection& c, std::string const& key, std::string_view strategy,
                              std::string const& threshold, bool approximate)
{
    request req;
    req.push("XTRIM", key, strategy, approximate ? "~" : "=", threshold);
    req.idempotent = true;
    auto r = co_await one(c, req);
    co_return value_or_throw(decode_integer(r, "XTRIM " + key));
}
}  // namespace

awaitable<std::int64_t> xtrim_maxlen(connection& c, std::string key, std::uint64_t max_len, bool approximate)
{
    co_return co_await xtrim(c, key, "MAXLEN", std::to_string(max_len), approximate);
}

awaitable<std::int64_t> xtrim_minid(connection& c, std::string key, std::string min_id, bool approximate)
{
    co_return co_await xtrim(c, key, "MINID", min_id, approximate);
}

awaitable<std::int64_t> xdel(connection& c, std::string key, std::vector<std::string> ids)
{
    request req;
    std::vector<std::string_view> argv{"XDEL", key};
    for (auto const& id : ids)
        argv.push_back(id);
    req.push_argv(argv);
    req.idempotent = true;
    auto r = co_await one(c, req);
    co_return value_or_throw(decode_integer(r, "XDEL " + key));
}

awaitable<std::int64_t> xlen(connection& c, std::string key)
{
    request req;
    req.push("XLEN", key);
    req.idempotent = true;
    auto r = co_await one(c, req);
    co_return value_or_throw(decode_integer(r, "XLEN " + key));
}

awaitable<bool> xgroup_create(connection& c, std::string key, std::string group, std::string id)
{
    request req;
    req.push("XGROUP", "CREATE", key, group, id, "MKSTREAM");
    req.idempotent = true;  // BUSYGROUP on the second run is tolerated
    auto r = co_await one(c, req);
    co_return value_or_throw(decode_xgroup_create(r));
}

awaitable<void> xgroup_setid(connection& c, std::string key, std::string group, std::string id)
{
    request req;
    req.push("XGROUP", "SETID", key, group, id);
    req.idempotent = true;
    auto r = co_await one(c, req);
    auto ok = decode_ok(r, "XGROUP SETID " + key);
    if (!ok)
        throw es::error(ok.error().code, ok.error().message);
}

awaitable<std::int64_t> xgroup_delconsumer(connection& c, std::string key, std::string group, std::string consumer)
{
    request req;
    req.push("XGROUP", "DELCONSUMER", key, group, consumer);
    auto r = co_await one(c, req);
    co_return value_or_throw(decode_integer(r, "XGROUP DELCONSUMER " + key));
}

awaitable<std::vector<reply>> transaction(connection& c, request const& commands)
{
    // MULTI, the commands and EXEC travel in one request: nothing else can interleave, and the
    // whole transaction fails or succeeds as one.
    request whole;
    whole.push("MULTI");
    whole.append(commands);
    whole.push("EXEC");
    whole.timeout = commands.timeout;
    auto replies = co_await c.exec(whole);
    co_return value_or_throw(decode_exec(replies));
}

}  // namespace es::redis
