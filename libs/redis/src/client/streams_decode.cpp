#include <es/redis/client/error.hpp>
#include <es/redis/client/streams.hpp>

// Builders and decoders only: no I/O, no Asio (the fuzz target compiles this file alone).

#include <charconv>

namespace es::redis {
namespace {

// Decoding walks the reply with checked accessors that throw bad_shape; each decode_* catches it
// once and turns it into a failure naming the command and the offending part.
struct bad_shape {
    std::string what;
};

[[noreturn]] void shape(std::string what)
{
    throw bad_shape{std::move(what)};
}

reply const& check_not_error(reply const& r)
{
    if (r.is_error())
        throw server_error("", r.str);
    return r;
}

std::vector<reply> const& array(reply const& r, std::string_view what)
{
    check_not_error(r);
    if (!r.is_array())
        shape(std::string(what) + " should be an array, got " + r.describe());
    return r.elements;
}

std::vector<reply> const& array_of(reply const& r, std::size_t n, std::string_view what)
{
    auto const& a = array(r, what);
    if (a.size() != n)
        shape(std::string(what) + " should have " + std::to_string(n) + " elements, got " + std::to_string(a.size()));
    return a;
}

std::string const& string(reply const& r, std::string_view what)
{
    check_not_error(r);
    if (!r.is_string())
        shape(std::string(what) + " should be a string, got " + r.describe());
    return r.str;
}

std::int64_t integer(reply const& r, std::string_view what)
{
    check_not_error(r);
    if (r.is_integer())
        return r.integer;
    if (r.is_string()) {  // some replies carry numbers as strings
        std::int64_t v = 0;
        auto [end, ec] = std::from_chars(r.str.data(), r.str.data() + r.str.size(), v);
        if (ec == std::errc() && end == r.str.data() + r.str.size())
            return v;
    }
    shape(std::string(what) + " should be an integer, got " + r.describe());
}

std::uint64_t count(reply const& r, std::string_view what)
{
    auto v = integer(r, what);
    if (v < 0)
        shape(std::string(what) + " should not be negative, got " + std::to_string(v));
    return static_cast<std::uint64_t>(v);
}

// A string of the reply: moved out when the reply is ours to consume (Reply = reply), copied
// when it is const. Entries are the bulk of what a consumer reads, so XREADGROUP, XAUTOCLAIM and
// XRANGE replies are consumed.
template <class Reply>
std::string take_string(Reply& r, std::string_view what)
{
    auto const& s = string(r, what);
    if constexpr (std::is_const_v<Reply>)
        return s;
    else
        return std::move(r.str);
}

template <class Reply>
stream_entry entry(Reply& r)
{
    array_of(r, 2, "stream entry");
    auto& a = r.elements;
    stream_entry e;
    e.id = take_string(a[0], "entry id");
    if (!parse_stream_id(e.id))
        shape("entry id '" + e.id.substr(0, 40) + "' is not a stream id");
    if (a[1].is_nil()) {
        e.deleted = true;
        return e;
    }
    array(a[1], "entry fields");
    auto& f = a[1].elements;
    if (f.size() % 2 != 0)
        shape("entry fields should come in name/value pairs, got " + std::to_string(f.size()) + " elements");
    e.fields.reserve(f.size() / 2);
    for (std::size_t i = 0; i < f.size(); i += 2) {
        auto name = take_string(f[i], "field name");
        e.fields.emplace_back(std::move(name), take_string(f[i + 1], "field value"));
    }
    return e;
}

template <class Reply>
std::vector<stream_entry> entries(Reply& r)
{
    std::vector<stream_entry> out;
    if (r.is_nil())
        return out;
    out.reserve(array(r, "entry list").size());
    for (auto& e : r.elements)
        out.push_back(entry(e));
    return out;
}

// XINFO replies are flat name/value arrays; calls fn(name, value) for each pair.
template <class Fn>
void for_each_pair(reply const& r, std::string_view what, Fn fn)
{
    auto const& a = array(r, what);
    if (a.size() % 2 != 0)
        shape(std::string(what) + " should be name/value pairs, got " + std::to_string(a.size()) + " elements");
    for (std::size_t i = 0; i < a.size(); i += 2)
        fn(string(a[i], "field name"), a[i + 1]);
}

template <class T, class Fn>
result<T> decode(std::string_view command, Fn fn)
{
    try {
        return fn();
    } catch (bad_shape const& e) {
        return failure{make_error_code(errc::unexpected_reply), "redis " + std::string(command) + ": " + e.what};
    } catch (server_error const& e) {
        return failure{make_error_code(errc::server_error),
                       "redis " + std::string(command) + ": the server answered '" + e.server_message() + "'"};
    }
}

template <class T>
void append_ids(request& req, std::vector<std::string_view>& argv, T const& ids)
{
    (void)req;
    for (auto const& id : ids)
        argv.push_back(id);
}

std::string ms(std::chrono::milliseconds d)
{
    return std::to_string(d.count());
}

}  // namespace

std::string const* stream_entry::field(std::string_view name) const noexcept
{
    for (auto const& [k, v] : fields)
        if (k == name)
            return &v;
    return nullptr;
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_stream_id(std::string_view id)
{
    auto dash = id.find('-');
    if (dash == std::string_view::npos || dash == 0 || dash + 1 == id.size())
        return std::nullopt;
    std::uint64_t a = 0, b = 0;
    auto r1 = std::from_chars(id.data(), id.data() + dash, a);
    auto r2 = std::from_chars(id.data() + dash + 1, id.data() + id.size(), b);
    if (r1.ec != std::errc() || r1.ptr != id.data() + dash || r2.ec != std::errc() || r2.ptr != id.data() + id.size())
        return std::nullopt;
    return std::pair{a, b};
}

int compare_stream_ids(std::string_view a, std::string_view b)
{
    auto x = parse_stream_id(a).value_or(std::pair<std::uint64_t, std::uint64_t>{0, 0});
    auto y = parse_stream_id(b).value_or(std::pair<std::uint64_t, std::uint64_t>{0, 0});
    return x < y ? -1 : (x == y ? 0 : 1);
}

// ---- builders ----------------------------------------------------------------------------------

void push_xadd(request& req, std::string_view key, field_list const& fields, xadd_options const& opts)
{
    std::vector<std::string_view> argv{"XADD", key};
    std::string len;
    if (opts.no_mkstream)
        argv.push_back("NOMKSTREAM");
    if (opts.max_len) {
        len = std::to_string(*opts.max_len);
        argv.push_back("MAXLEN");
        argv.push_back(opts.approximate ? "~" : "=");
        argv.push_back(len);
    } else if (opts.min_id) {
        argv.push_back("MINID");
        argv.push_back(opts.approximate ? "~" : "=");
        argv.push_back(*opts.min_id);
    }
    argv.push_back(opts.id.empty() ? std::string_view("*") : std::string_view(opts.id));
    for (auto const& [k, v] : fields) {
        argv.push_back(k);
        argv.push_back(v);
    }
    req.push_argv(argv);
}

void push_xreadgroup(request& req, std::string_view group, std::string_view consumer, std::string_view key,
                     std::string_view id, xreadgroup_options const& opts)
{
    std::vector<std::string_view> argv{"XREADGROUP", "GROUP", group, consumer};
    std::string count = std::to_string(opts.count), block;
    if (opts.count > 0) {
        argv.push_back("COUNT");
        argv.push_back(count);
    }
    if (opts.block) {
        block = ms(*opts.block);
        argv.push_back("BLOCK");
        argv.push_back(block);
    }
    if (opts.no_ack)
        argv.push_back("NOACK");
    argv.push_back("STREAMS");
    argv.push_back(key);
    argv.push_back(id);
    req.push_argv(argv);
}

void push_xack(request& req, std::string_view key, std::string_view group, std::vector<std::string> const& ids)
{
    std::vector<std::string_view> argv{"XACK", key, group};
    append_ids(req, argv, ids);
    req.push_argv(argv);
}

void push_xautoclaim(request& req, std::string_view key, std::string_view group, std::string_view consumer,
                     std::chrono::milliseconds min_idle, std::string_view cursor, std::size_t count)
{
    req.push("XAUTOCLAIM", key, group, consumer, ms(min_idle), cursor, "COUNT", count);
}

void push_xclaim(request& req, std::string_view key, std::string_view group, std::string_view consumer,
                 std::chrono::milliseconds min_idle, std::vector<std::string> const& ids)
{
    auto idle = ms(min_idle);
    std::vector<std::string_view> argv{"XCLAIM", key, group, consumer, idle};
    append_ids(req, argv, ids);
    req.push_argv(argv);
}

void push_xpending_range(request& req, std::string_view key, std::string_view group, xpending_range_options const& opts)
{
    std::vector<std::string_view> argv{"XPENDING", key, group};
    std::string idle, count = std::to_string(opts.count);
    if (opts.min_idle) {
        idle = ms(*opts.min_idle);
        argv.push_back("IDLE");
        argv.push_back(idle);
    }
    argv.push_back(opts.start);
    argv.push_back(opts.end);
    argv.push_back(count);
    if (!opts.consumer.empty())
        argv.push_back(opts.consumer);
    req.push_argv(argv);
}

// ---- decoders ----------------------------------------------------------------------------------

result<std::string> decode_string(reply const& r, std::string_view command)
{
    return decode<std::string>(command, [&] { return string(r, "the reply"); });
}

result<std::int64_t> decode_integer(reply const& r, std::string_view command)
{
    return decode<std::int64_t>(command, [&] { return integer(r, "the reply"); });
}

result<void> decode_ok(reply const& r, std::string_view command)
{
    auto s = decode<std::string>(command, [&] {
        check_not_error(r);
        if (r.type != reply_type::status)
            shape("the reply should be +OK, got " + r.describe());
        return r.str;
    });
    if (!s)
        return s.error();
    if (*s != "OK")
        return failure{make_error_code(errc::unexpected_reply), "redis " + std::string(command) + ": expected +OK, got +" + s->substr(0, 40)};
    return {};
}

result<stream_entry> decode_entry(reply r, std::string_view command)
{
    return decode<stream_entry>(command, [&] { return entry(r); });
}

result<std::vector<stream_entry>> decode_entries(reply r, std::string_view command)
{
    return decode<std::vector<stream_entry>>(command, [&] { return entries(r); });
}

result<std::vector<stream_messages>> decode_xread(reply r)
{
    return decode<std::vector<stream_messages>>("XREADGROUP", [&] {
        std::vector<stream_messages> out;
        if (r.is_nil())
            return out;
        array(r, "the reply");
        for (auto& s : r.elements) {
            array_of(s, 2, "a stream's part of the reply");
            auto name = take_string(s.elements[0], "stream name");
            out.push_back({std::move(name), entries(s.elements[1])});
        }
        return out;
    });
}

result<xautoclaim_result> decode_xautoclaim(reply r)
{
    return decode<xautoclaim_result>("XAUTOCLAIM", [&] {
        array(r, "the reply");
        auto& a = r.elements;
        if (a.size() != 2 && a.size() != 3)
            shape("the reply should have 2 or 3 elements, got " + std::to_string(a.size()));
        xautoclaim_result out;
        out.next_cursor = string(a[0], "cursor");
        if (!parse_stream_id(out.next_cursor))
            shape("cursor '" + out.next_cursor.substr(0, 40) + "' is not a stream id");
        out.entries = entries(a[1]);
        if (a.size() == 3)
            for (auto const& id : array(a[2], "deleted ids"))
                out.deleted_ids.push_back(string(id, "deleted id"));
        return out;
    });
}

result<pending_summary> decode_xpending_summary(reply const& r)
{
    return decode<pending_summary>("XPENDING", [&] {
        auto const& a = array_of(r, 4, "the reply");
        pending_summary out;
        out.count = count(a[0], "pending count");
        if (out.count == 0)
            return out;
        out.smallest_id = string(a[1], "smallest id");
        out.largest_id = string(a[2], "largest id");
        if (!a[3].is_nil())
            for (auto const& c : array(a[3], "consumers")) {
                auto const& pair = array_of(c, 2, "consumer entry");
                out.consumers.emplace_back(string(pair[0], "consumer name"), count(pair[1], "consumer pending count"));
            }
        return out;
    });
}

result<std::vector<pending_entry>> decode_xpending_range(reply const& r)
{
    return decode<std::vector<pending_entry>>("XPENDING", [&] {
        std::vector<pending_entry> out;
        for (auto const& e : array(r, "the reply")) {
            auto const& f = array_of(e, 4, "pending entry");
            pending_entry p;
            p.id = string(f[0], "pending id");
            p.consumer = string(f[1], "consumer");
            p.idle = std::chrono::milliseconds(count(f[2], "idle time"));
            p.deliveries = count(f[3], "delivery count");
            out.push_back(std::move(p));
        }
        return out;
    });
}

result<stream_info_reply> decode_xinfo_stream(reply const& r)
{
    return decode<stream_info_reply>("XINFO STREAM", [&] {
        stream_info_reply out;
        bool has_length = false;
        for_each_pair(r, "the reply", [&](std::string const& name, reply const& v) {
            if (name == "length") {
                out.length = count(v, "length");
                has_length = true;
            } else if (name == "groups")
                out.groups = count(v, "groups");
            else if (name == "last-generated-id")
                out.last_generated_id = string(v, "last-generated-id");
            else if (name == "entries-added")
                out.entries_added = count(v, "entries-added");
            else if (name == "max-deleted-entry-id")
                out.max_deleted_entry_id = string(v, "max-deleted-entry-id");
            else if (name == "recorded-first-entry-id")
                out.recorded_first_entry_id = string(v, "recorded-first-entry-id");
            else if (name == "first-entry" && !v.is_nil())
                out.first_entry = entry(v);
            else if (name == "last-entry" && !v.is_nil())
                out.last_entry = entry(v);
        });
        if (!has_length)
            shape("the reply has no length");
        return out;
    });
}

result<std::vector<group_info>> decode_xinfo_groups(reply const& r)
{
    return decode<std::vector<group_info>>("XINFO GROUPS", [&] {
        std::vector<group_info> out;
        for (auto const& g : array(r, "the reply")) {
            group_info info;
            bool has_name = false;
            for_each_pair(g, "group", [&](std::string const& name, reply const& v) {
                if (name == "name") {
                    info.name = string(v, "name");
                    has_name = true;
                } else if (name == "consumers")
                    info.consumers = count(v, "consumers");
                else if (name == "pending")
                    info.pending = count(v, "pending");
                else if (name == "last-delivered-id")
                    info.last_delivered_id = string(v, "last-delivered-id");
                else if (name == "entries-read" && !v.is_nil())
                    info.entries_read = count(v, "entries-read");
                else if (name == "lag" && !v.is_nil())
                    info.lag = count(v, "lag");
            });
            if (!has_name)
                shape("a group has no name");
            out.push_back(std::move(info));
        }
        return out;
    });
}

result<std::vector<consumer_info>> decode_xinfo_consumers(reply const& r)
{
    return decode<std::vector<consumer_info>>("XINFO CONSUMERS", [&] {
        std::vector<consumer_info> out;
        for (auto const& c : array(r, "the reply")) {
            consumer_info info;
            bool has_name = false;
            for_each_pair(c, "consumer", [&](std::string const& name, reply const& v) {
                if (name == "name") {
                    info.name = string(v, "name");
                    has_name = true;
                } else if (name == "pending")
                    info.pending = count(v, "pending");
                else if (name == "idle")
                    info.idle = std::chrono::milliseconds(count(v, "idle"));
                else if (name == "inactive")
                    info.inactive = std::chrono::milliseconds(integer(v, "inactive"));
            });
            if (!has_name)
                shape("a consumer has no name");
            out.push_back(std::move(info));
        }
        return out;
    });
}

result<bool> decode_xgroup_create(reply const& r)
{
    if (r.is_error() && r.str.starts_with("BUSYGROUP"))
        return false;
    auto ok = decode_ok(r, "XGROUP CREATE");
    if (!ok)
        return ok.error();
    return true;
}

result<std::vector<reply>> decode_exec(response const& replies)
{
    return decode<std::vector<reply>>("EXEC", [&] {
        if (replies.size() < 2)
            shape("a transaction should have MULTI and EXEC replies, got " + std::to_string(replies.size()));
        // An error while queueing (wrong arity…) makes EXEC fail with EXECABORT; report the cause.
        for (std::size_t i = 1; i + 1 < replies.size(); ++i)
            if (replies[i].is_error())
                throw server_error("", replies[i].str);
        auto const& exec = replies.back();
        if (exec.is_nil())
            shape("the transaction was aborted (a WATCHed key changed)");
        auto const& a = array(exec, "EXEC reply");
        if (a.size() != replies.size() - 2)
            shape("EXEC returned " + std::to_string(a.size()) + " replies for " + std::to_string(replies.size() - 2) +
                  " commands");
        return a;
    });
}

}  // namespace es::redis
