// The typed stream helpers, MULTI/EXEC and scripts against the real server.
#include "redis_test_support.hpp"

#include <es/redis/client/error.hpp>
#include <es/redis/client/script.hpp>
#include <es/redis/client/streams.hpp>

#include <gtest/gtest.h>

namespace es::test {
namespace {
using namespace std::chrono_literals;
using namespace es::redis;

TEST(RedisStreams, XaddVariantsAndRanges)
{
    run_coro([]() -> awaitable<void> {
        auto conn = co_await start_connection();
        auto key = unique_name("streams-xadd");
        xadd_options explicit_id;
        explicit_id.id = "100-1";
        field_list one{{"n", "1"}};
        EXPECT_EQ(co_await xadd(*conn, key, one, explicit_id), "100-1");
        bool rejected = false;
        try {
            co_await xadd(*conn, key, one, explicit_id);  // not greater than the last id
        } catch (es::error const& e) {
            rejected = e.code() == make_error_code(redis::errc::server_error);
        }
        EXPECT_TRUE(rejected);
        for (int i = 2; i <= 200; ++i) {
            field_list fields{{"n", std::to_string(i)}, {"bin", std::string("\0\xff", 2)}};
            co_await xadd(*conn, key, fields);
        }
        EXPECT_EQ(co_await xlen(*conn, key), 200);

        auto first = co_await xrange(*conn, key, "-", "+", 2);
        EXPECT_EQ(first.size(), 2u);
        EXPECT_EQ(first.at(0).id, "100-1");
        EXPECT_EQ(*first.at(1).field("bin"), std::string("\0\xff", 2));
        auto last = co_await xrevrange(*conn, key, "+", "-", 1);
        EXPECT_EQ(*last.at(0).field("n"), "200");

        xadd_options capped;
        capped.max_len = 50;
        capped.approximate = false;
        field_list f201{{"n", "201"}};
        co_await xadd(*conn, key, f201, capped);
        EXPECT_EQ(co_await xlen(*conn, key), 50);

        auto info = co_await xinfo_stream(*conn, key);
        EXPECT_EQ(info.length, 50u);
        EXPECT_TRUE(info.last_entry.has_value());
        xadd_options by_min_id;
        by_min_id.min_id = info.last_entry ? info.last_entry->id : "0-0";
        by_min_id.approximate = false;
        field_list f202{{"n", "202"}};
        co_await xadd(*conn, key, f202, by_min_id);
        EXPECT_EQ(co_await xlen(*conn, key), 2);

        EXPECT_EQ(co_await xtrim_maxlen(*conn, key, 1, false), 1);
        auto remaining = co_await xrange(*conn, key, "-", "+", 0);
        std::vector<std::string> doomed{remaining.at(0).id};
        EXPECT_EQ(co_await xdel(*conn, key, doomed), 1);
        EXPECT_EQ(co_await xtrim_minid(*conn, key, "0-1", true), 0);
        conn->cancel();
    });
}

TEST(RedisStreams, ConsumerGroupCommands)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_test_config();
        cfg.allow_blocking = true;
        auto conn = co_await start_connection(cfg);
        auto key = unique_name("streams-group");
        EXPECT_TRUE(co_await xgroup_create(*conn, key, "g", "0"));   // MKSTREAM
        EXPECT_FALSE(co_await xgroup_create(*conn, key, "g", "0"));  // BUSYGROUP tolerated
        for (int i = 0; i < 25; ++i) {
            field_list fields{{"n", std::to_string(i)}};
            co_await xadd(*conn, key, fields);
        }

        xreadgroup_options opts;
        opts.count = 10;
        opts.block = 100ms;
        auto read = co_await xreadgroup(*conn, "g", "alice", key, ">", opts);
        EXPECT_EQ(read.size(), 1u);
        EXPECT_EQ(read.at(0).stream, key);
        EXPECT_EQ(read.at(0).entries.size(), 10u);
        xreadgroup_options all;
        auto rest = co_await xreadgroup(*conn, "g", "bob", key, ">", all);
        EXPECT_EQ(rest.at(0).entries.size(), 15u);

        auto summary = co_await xpending_summary(*conn, key, "g");
        EXPECT_EQ(summary.count, 25u);
        EXPECT_EQ(summary.consumers.size(), 2u);

        co_await sleep_for(30ms);
        xpending_range_options range;
        range.min_idle = 20ms;
        range.count = 100;
        range.consumer = "alice";
        auto alice = co_await xpending_range(*conn, key, "g", range);
        EXPECT_EQ(alice.size(), 10u);
        EXPECT_EQ(alice.at(0).deliveries, 1u);
        range.min_idle = 60s;
        EXPECT_TRUE((co_await xpending_range(*conn, key, "g", range)).empty());

        // XAUTOCLAIM walks the PEL page by page with its cursor.
        std::size_t claimed = 0;
        std::string cursor = "0-0";
        int pages = 0;
        do {
            auto page = co_await xautoclaim(*conn, key, "g", "carol", 10ms, cursor, 4);
            claimed += page.entries.size();
            cursor = page.next_cursor;
            ++pages;
        } while (cursor != "0-0" && pages < 100);
        EXPECT_EQ(claimed, 25u);
        EXPECT_GE(pages, 2);

        std::vector<std::string> first_of_alice{alice.at(0).id};
        auto reclaimed = co_await xclaim(*conn, key, "g", "dave", 0ms, first_of_alice);
        EXPECT_EQ(reclaimed.size(), 1u);
        range = {};
        range.consumer = "dave";
        auto dave = co_await xpending_range(*conn, key, "g", range);
        EXPECT_EQ(dave.at(0).deliveries, 3u);  // read, XAUTOCLAIM, XCLAIM

        std::vector<std::string> ids;
        for (auto const& e : rest.at(0).entries)
            ids.push_back(e.id);
        EXPECT_EQ(co_await xack(*conn, key, "g", ids), 15);

        auto groups = co_await xinfo_groups(*conn, key);
        EXPECT_EQ(groups.size(), 1u);
        EXPECT_EQ(groups.at(0).name, "g");
        EXPECT_EQ(groups.at(0).pending, 10u);
        auto consumers = co_await xinfo_consumers(*conn, key, "g");
        EXPECT_EQ(consumers.size(), 4u);
        EXPECT_EQ(co_await xgroup_delconsumer(*conn, key, "g", "alice"), 0);
        co_await xgroup_setid(*conn, key, "g", "0");
        auto again = co_await xreadgroup(*conn, "g", "erin", key, ">", all);
        EXPECT_EQ(again.at(0).entries.size(), 25u);

        // Deleted pending entries are reported by XAUTOCLAIM and dropped from the PEL.
        std::vector<std::string> deleted{again.at(0).entries.at(0).id};
        co_await xdel(*conn, key, deleted);
        auto page = co_await xautoclaim(*conn, key, "g", "frank", 0ms, "0-0", 100);
        EXPECT_EQ(page.deleted_ids.size(), 1u);
        conn->cancel();
    });
}

TEST(RedisStreams, TransactionAndScripts)
{
    run_coro([]() -> awaitable<void> {
        auto conn = co_await start_connection();
        auto key = unique_name("streams-tx");
        request cmds;
        push_xadd(cmds, key, field_list{{"a", "1"}}, xadd_options{});
        push_xadd(cmds, key, field_list{{"a", "2"}}, xadd_options{});  // not in a co_await: fine
        cmds.push("XLEN", key);
        auto results = co_await transaction(*conn, cmds);
        EXPECT_EQ(results.size(), 3u);
        EXPECT_EQ(results.at(2).integer, 2);

        request bad;
        bad.push("XADD", key);  // wrong arity: the whole transaction is discarded
        bool failed = false;
        try {
            co_await transaction(*conn, bad);
        } catch (es::error const& e) {
            failed = std::string(e.what()).find("wrong number of arguments") != std::string::npos;
        }
        EXPECT_TRUE(failed);

        request flush;
        flush.push("SCRIPT", "FLUSH");
        co_await conn->call(flush);
        script len("return redis.call('XLEN', KEYS[1]) + tonumber(ARGV[1])");
        std::vector<std::string> keys{key}, forty{"40"}, zero{"0"}, none;
        auto r1 = co_await eval(*conn, len, keys, forty);  // NOSCRIPT -> EVAL
        EXPECT_EQ(r1.integer, 42);
        request exists;
        exists.push("SCRIPT", "EXISTS", len.sha1());
        auto cached = co_await conn->call(exists);
        EXPECT_EQ(cached.elements.at(0).integer, 1);
        auto r2 = co_await eval(*conn, len, keys, zero);
        EXPECT_EQ(r2.integer, 2);
        script broken("return redis.call('NOPE')");
        bool server_failed = false;
        try {
            co_await eval(*conn, broken, none, none);
        } catch (redis::server_error const&) {
            server_failed = true;
        }
        EXPECT_TRUE(server_failed);
        conn->cancel();
    });
}

}  // namespace
}  // namespace es::test
