// Request formatting and URL parsing, without a server.
#include <es/redis/client/config.hpp>
#include <es/redis/client/request.hpp>
#include <es/redis/client/streams.hpp>

#include <gtest/gtest.h>

namespace {
using es::redis::request;
using namespace std::string_literals;

TEST(RedisRequest, FormatsCommandsAsRespArrays)
{
    request req;
    req.push("SET", "key", std::string("a\0b", 3)).push("INCRBY", "n", -12);
    EXPECT_EQ(req.size(), 2u);
    EXPECT_EQ(req.payload(), "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$3\r\na\0b\r\n"s
                             "*3\r\n$6\r\nINCRBY\r\n$1\r\nn\r\n$3\r\n-12\r\n"s);
    EXPECT_EQ(req.summary(), "SET … INCRBY (2 commands)");
    EXPECT_FALSE(req.blocking());
}

TEST(RedisRequest, DetectsBlockingCommands)
{
    request a;
    a.push("xreadgroup", "GROUP", "g", "c", "block", 10, "STREAMS", "s", ">");
    EXPECT_TRUE(a.blocking());
    request b;
    b.push("XREADGROUP", "GROUP", "g", "c", "COUNT", 10, "STREAMS", "s", ">");
    EXPECT_FALSE(b.blocking());
    request c;
    c.push("BLPOP", "l", 1);
    EXPECT_TRUE(c.blocking());
}

TEST(RedisRequest, AppendKeepsCommandsAndFlags)
{
    request a, b;
    a.push("MULTI");
    b.push("XADD", "s", "*", "f", "v").push("XADD", "s", "*", "f", "w");
    a.append(b).push("EXEC");
    EXPECT_EQ(a.size(), 4u);
    EXPECT_EQ(a.summary(), "MULTI … EXEC (4 commands)");
}

TEST(RedisRequest, XaddBuilderWritesTrimOptionsBeforeTheId)
{
    request req;
    es::redis::xadd_options o;
    o.max_len = 1000;
    es::redis::field_list fields{{"type", "T"}};
    es::redis::push_xadd(req, "s", fields, o);
    EXPECT_EQ(req.payload(), "*8\r\n$4\r\nXADD\r\n$1\r\ns\r\n$6\r\nMAXLEN\r\n$1\r\n~\r\n$4\r\n1000\r\n$1\r\n*\r\n"
                             "$4\r\ntype\r\n$1\r\nT\r\n");
    request exact;
    o = {};
    o.id = "5-1";
    o.min_id = "3-0";
    o.approximate = false;
    es::redis::push_xadd(exact, "s", fields, o);
    EXPECT_NE(exact.payload().find("MINID\r\n$1\r\n=\r\n$3\r\n3-0\r\n$3\r\n5-1"), std::string::npos);
}

TEST(RedisConfig, ParsesUrls)
{
    auto c = es::redis::config_from_url("redis://user:p%40ss@10.0.0.1:6380/3").value();
    EXPECT_EQ(c.host, "10.0.0.1");
    EXPECT_EQ(c.port, 6380);
    EXPECT_EQ(c.username, "user");
    EXPECT_EQ(c.password, "p@ss");
    EXPECT_EQ(c.database, 3);
    EXPECT_FALSE(c.use_tls);

    auto t = es::redis::config_from_url("rediss://127.0.0.1:7000?ca_file=/tmp/ca.crt&command_timeout_ms=250").value();
    EXPECT_TRUE(t.use_tls);
    EXPECT_EQ(t.ca_file, "/tmp/ca.crt");
    EXPECT_EQ(t.command_timeout.count(), 250);

    auto p = es::redis::config_from_url("redis://:secret@localhost").value();
    EXPECT_EQ(p.username, "");
    EXPECT_EQ(p.password, "secret");
    EXPECT_EQ(p.port, 6379);
}

TEST(RedisConfig, RejectsBadUrlsWithoutShowingThePassword)
{
    EXPECT_FALSE(es::redis::config_from_url("http://x"));
    EXPECT_FALSE(es::redis::config_from_url("redis://h:notaport"));
    EXPECT_FALSE(es::redis::config_from_url("redis://h/db"));
    auto bad = es::redis::config_from_url("redis://u:topsecret@h/x");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message.find("topsecret"), std::string::npos) << bad.error().message;
}

TEST(RedisStreamIds, ParseAndCompare)
{
    EXPECT_TRUE(es::redis::parse_stream_id("1700000000000-3"));
    EXPECT_FALSE(es::redis::parse_stream_id("17-"));
    EXPECT_FALSE(es::redis::parse_stream_id("-1"));
    EXPECT_FALSE(es::redis::parse_stream_id("1-2-3"));
    EXPECT_FALSE(es::redis::parse_stream_id("abc"));
    EXPECT_EQ(es::redis::compare_stream_ids("10-0", "9-5"), 1);
    EXPECT_EQ(es::redis::compare_stream_ids("9-5", "9-10"), -1);
    EXPECT_EQ(es::redis::compare_stream_ids("0-0", "0-0"), 0);
}

}  // namespace
