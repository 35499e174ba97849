// Every typed decoder, fed well-formed and malformed replies (no server).
#include <es/redis/client/error.hpp>
#include <es/redis/client/streams.hpp>

#include <gtest/gtest.h>

namespace {
using namespace es::redis;

reply s(std::string v)
{
    reply r;
    r.type = reply_type::string;
    r.str = std::move(v);
    return r;
}
reply st(std::string v)
{
    reply r = s(std::move(v));
    r.type = reply_type::status;
    return r;
}
reply i(long long v)
{
    reply r;
    r.type = reply_type::integer;
    r.integer = v;
    return r;
}
reply nil()
{
    return {};
}
reply err(std::string v)
{
    reply r = s(std::move(v));
    r.type = reply_type::error;
    return r;
}
reply arr(std::vector<reply> e)
{
    reply r;
    r.type = reply_type::array;
    r.elements = std::move(e);
    return r;
}
reply entry(std::string id, std::vector<std::string> kv)
{
    std::vector<reply> f;
    for (auto& x : kv)
        f.push_back(s(x));
    return arr({s(std::move(id)), arr(std::move(f))});
}

template <class R>
void expect_unexpected(R const& r, std::string_view mention = {})
{
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, make_error_code(errc::unexpected_reply)) << r.error().message;
    if (!mention.empty()) {
        EXPECT_NE(r.error().message.find(mention), std::string::npos) << r.error().message;
    }
}

template <class R>
void expect_server_error(R const& r, std::string_view text)
{
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, make_error_code(errc::server_error));
    EXPECT_NE(r.error().message.find(text), std::string::npos) << r.error().message;
}

TEST(RedisDecode, ScalarDecoders)
{
    EXPECT_EQ(decode_string(s("1-0"), "XADD").value(), "1-0");
    expect_unexpected(decode_string(i(1), "XADD"), "XADD");
    expect_unexpected(decode_string(nil(), "XADD"));
    expect_server_error(decode_string(err("ERR The ID specified in XADD is equal or smaller"), "XADD"), "equal or smaller");
    EXPECT_EQ(decode_integer(i(3), "XLEN").value(), 3);
    EXPECT_EQ(decode_integer(s("17"), "XLEN").value(), 17);
    expect_unexpected(decode_integer(s("17x"), "XLEN"));
    expect_unexpected(decode_integer(arr({}), "XLEN"));
    EXPECT_TRUE(decode_ok(st("OK"), "SETID"));
    expect_unexpected(decode_ok(s("OK"), "SETID"));  // a bulk string is not +OK
    expect_unexpected(decode_ok(st("QUEUED"), "SETID"));
}

TEST(RedisDecode, Entries)
{
    auto e = decode_entry(entry("5-1", {"a", "1", "b", std::string("\0", 1)}), "XRANGE").value();
    EXPECT_EQ(e.id, "5-1");
    ASSERT_EQ(e.fields.size(), 2u);
    EXPECT_EQ(*e.field("b"), std::string("\0", 1));
    EXPECT_EQ(e.field("zz"), nullptr);
    auto deleted = decode_entry(arr({s("5-2"), nil()}), "XREADGROUP").value();
    EXPECT_TRUE(deleted.deleted);

    expect_unexpected(decode_entry(arr({s("5-1")}), "XRANGE"), "2 elements");
    expect_unexpected(decode_entry(entry("5-1", {"a"}), "XRANGE"), "pairs");
    expect_unexpected(decode_entry(entry("not-an-id", {}), "XRANGE"), "not a stream id");
    expect_unexpected(decode_entry(arr({i(5), arr({})}), "XRANGE"));
    expect_unexpected(decode_entry(arr({s("1-1"), arr({i(1), s("v")})}), "XRANGE"), "field name");
    EXPECT_EQ(decode_entries(arr({entry("1-0", {}), entry("2-0", {"x", "y"})}), "XRANGE").value().size(), 2u);
    EXPECT_TRUE(decode_entries(nil(), "XCLAIM").value().empty());
    expect_unexpected(decode_entries(s("x"), "XRANGE"));
    expect_unexpected(decode_entries(arr({entry("1-0", {}), s("junk")}), "XRANGE"));
}

TEST(RedisDecode, Xread)
{
    auto r = decode_xread(arr({arr({s("stream"), arr({entry("1-0", {"f", "v"})})})})).value();
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].stream, "stream");
    EXPECT_EQ(r[0].entries.at(0).fields.at(0).second, "v");
    EXPECT_TRUE(decode_xread(nil()).value().empty());
    expect_unexpected(decode_xread(arr({arr({s("stream")})})));
    expect_unexpected(decode_xread(arr({s("stream")})));
    expect_unexpected(decode_xread(i(0)));
    expect_server_error(decode_xread(err("NOGROUP No such key 's' or consumer group 'g'")), "NOGROUP");
}

TEST(RedisDecode, Xautoclaim)
{
    auto r = decode_xautoclaim(arr({s("7-0"), arr({entry("3-0", {"k", "v"})}), arr({s("2-0")})})).value();
    EXPECT_EQ(r.next_cursor, "7-0");
    EXPECT_EQ(r.entries.size(), 1u);
    EXPECT_EQ(r.deleted_ids, std::vector<std::string>{"2-0"});
    auto old = decode_xautoclaim(arr({s("0-0"), arr({})})).value();  // Redis 6.2 shape
    EXPECT_EQ(old.next_cursor, "0-0");
    expect_unexpected(decode_xautoclaim(arr({s("0-0")})), "2 or 3");
    expect_unexpected(decode_xautoclaim(arr({s("cursor"), arr({}), arr({})})), "cursor");
    expect_unexpected(decode_xautoclaim(arr({s("0-0"), arr({}), arr({i(1)})})), "deleted id");
    expect_unexpected(decode_xautoclaim(arr({s("0-0"), s("x"), arr({})})));
}

TEST(RedisDecode, XpendingSummary)
{
    auto r = decode_xpending_summary(arr({i(3), s("1-0"), s("3-0"), arr({arr({s("c1"), s("2")}), arr({s("c2"), s("1")})})})).value();
    EXPECT_EQ(r.count, 3u);
    EXPECT_EQ(r.smallest_id, "1-0");
    EXPECT_EQ(r.consumers.size(), 2u);
    EXPECT_EQ(r.consumers[0].second, 2u);
    auto empty = decode_xpending_summary(arr({i(0), nil(), nil(), nil()})).value();
    EXPECT_EQ(empty.count, 0u);
    expect_unexpected(decode_xpending_summary(arr({i(1), s("1-0"), s("1-0")})), "4 elements");
    expect_unexpected(decode_xpending_summary(arr({i(-1), nil(), nil(), nil()})), "negative");
    expect_unexpected(decode_xpending_summary(arr({i(1), s("1-0"), s("1-0"), arr({arr({s("c1")})})})));
}

TEST(RedisDecode, XpendingRange)
{
    auto r = decode_xpending_range(arr({arr({s("1-0"), s("c1"), i(1500), i(2)})})).value();
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].consumer, "c1");
    EXPECT_EQ(r[0].idle.count(), 1500);
    EXPECT_EQ(r[0].deliveries, 2u);
    expect_unexpected(decode_xpending_range(arr({arr({s("1-0"), s("c1"), i(1)})})), "4 elements");
    expect_unexpected(decode_xpending_range(arr({arr({s("1-0"), s("c1"), s("idle"), i(1)})})), "idle");
    expect_unexpected(decode_xpending_range(nil()));
}

TEST(RedisDecode, XinfoStream)
{
    auto r = decode_xinfo_stream(arr({s("length"), i(2), s("radix-tree-keys"), i(1), s("last-generated-id"), s("2-0"),
                                      s("max-deleted-entry-id"), s("0-0"), s("entries-added"), i(2),
                                      s("recorded-first-entry-id"), s("1-0"), s("groups"), i(1),
                                      s("first-entry"), entry("1-0", {"a", "b"}), s("last-entry"), nil()}))
                 .value();
    EXPECT_EQ(r.length, 2u);
    EXPECT_EQ(r.groups, 1u);
    EXPECT_EQ(r.last_generated_id, "2-0");
    EXPECT_EQ(r.entries_added.value_or(0), 2u);
    ASSERT_TRUE(r.first_entry);
    EXPECT_EQ(r.first_entry->id, "1-0");
    EXPECT_FALSE(r.last_entry);
    expect_unexpected(decode_xinfo_stream(arr({s("length")})), "pairs");
    expect_unexpected(decode_xinfo_stream(arr({s("groups"), i(1)})), "no length");
    expect_unexpected(decode_xinfo_stream(arr({s("length"), s("many")})), "length");
    expect_unexpected(decode_xinfo_stream(arr({s("length"), i(1), s("first-entry"), s("x")})));
    expect_server_error(decode_xinfo_stream(err("ERR no such key")), "no such key");
}

TEST(RedisDecode, XinfoGroups)
{
    auto r = decode_xinfo_groups(arr({arr({s("name"), s("g"), s("consumers"), i(2), s("pending"), i(5),
                                           s("last-delivered-id"), s("9-0"), s("entries-read"), i(9), s("lag"), nil()})}))
                 .value();
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].name, "g");
    EXPECT_EQ(r[0].pending, 5u);
    EXPECT_FALSE(r[0].lag);
    EXPECT_EQ(r[0].entries_read.value_or(0), 9u);
    expect_unexpected(decode_xinfo_groups(arr({arr({s("consumers"), i(2)})})), "no name");
    expect_unexpected(decode_xinfo_groups(arr({s("g")})));
    expect_unexpected(decode_xinfo_groups(arr({arr({s("name"), i(1)})})), "name");
}

TEST(RedisDecode, XinfoConsumers)
{
    auto r = decode_xinfo_consumers(arr({arr({s("name"), s("c"), s("pending"), i(1), s("idle"), i(20), s("inactive"), i(-1)})})).value();
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].idle.count(), 20);
    EXPECT_EQ(r[0].inactive.value().count(), -1);
    expect_unexpected(decode_xinfo_consumers(arr({arr({s("pending"), i(1)})})), "no name");
    expect_unexpected(decode_xinfo_consumers(arr({arr({s("name"), s("c"), s("idle"), s("x")})})), "idle");
    expect_unexpected(decode_xinfo_consumers(i(3)));
}

TEST(RedisDecode, XgroupCreateToleratesBusygroup)
{
    EXPECT_TRUE(decode_xgroup_create(st("OK")).value());
    EXPECT_FALSE(decode_xgroup_create(err("BUSYGROUP Consumer Group name already exists")).value());
    expect_server_error(decode_xgroup_create(err("ERR The XGROUP subcommand requires the key to exist")), "key to exist");
    expect_unexpected(decode_xgroup_create(i(1)));
}

TEST(RedisDecode, Exec)
{
    response ok{st("OK"), st("QUEUED"), st("QUEUED"), arr({s("1-0"), i(1)})};
    EXPECT_EQ(decode_exec(ok).value().size(), 2u);
    response aborted{st("OK"), st("QUEUED"), nil()};
    expect_unexpected(decode_exec(aborted), "aborted");
    response queue_error{st("OK"), err("ERR wrong number of arguments for 'xadd' command"),
                         err("EXECABORT Transaction discarded because of previous errors.")};
    expect_server_error(decode_exec(queue_error), "wrong number of arguments");
    response mismatch{st("OK"), st("QUEUED"), arr({})};
    expect_unexpected(decode_exec(mismatch), "EXEC returned 0 replies for 1 commands");
    response short_one{st("OK")};
    expect_unexpected(decode_exec(short_one));
}

}  // namespace
