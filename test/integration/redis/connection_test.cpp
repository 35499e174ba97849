// es::redis::connection against the real redis-server started by scripts/run-tests.sh.
#include "redis_test_support.hpp"

#include <es/redis/client/connection.hpp>
#include <es/redis/client/error.hpp>
#include <es/with_timeout.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>

namespace es::test {

int shell(std::string const& command)
{
    return std::system(command.c_str());
}

namespace {
using namespace std::chrono_literals;
using redis::request;

std::string redis_cli(std::string const& args)
{
    return "redis-cli -h 127.0.0.1 -p " + std::to_string(redis_port()) + " " + args + " >/dev/null 2>&1";
}

// Expects `op` to throw es::error with `code`; returns the message.
template <class Op>
awaitable<std::string> expect_error(Op op, boost::system::error_code code)
{
    std::string message = "(no exception)";
    boost::system::error_code got;
    try {
        co_await op();
    } catch (es::error const& e) {
        message = e.what();
        got = e.code();
    }
    EXPECT_EQ(got, code) << message;
    co_return message;
}

// Sends `total` ECHOs from as many coroutines on one connection; returns how many got their own
// reply back.
awaitable<int> echo_from_many_coroutines(redis::connection& conn, int total, std::chrono::seconds limit)
{
    auto ex = co_await asio::this_coro::executor;
    auto matched = std::make_shared<std::atomic<int>>(0);
    auto finished = std::make_shared<std::atomic<int>>(0);
    for (int i = 0; i < total; ++i) {
        asio::co_spawn(
            ex,
            [&conn, i, matched]() -> awaitable<void> {
                request req;
                req.push("ECHO", i);
                auto r = co_await conn.exec(req);
                if (r.size() == 1 && r[0].str == std::to_string(i))
                    ++*matched;
            },
            [finished](std::exception_ptr) { ++*finished; });
    }
    auto& done = *finished;  // by reference: see eventually()
    EXPECT_TRUE(co_await eventually([&done, total] { return done.load() == total; }, limit));
    co_return matched->load();
}

TEST(RedisConnection, ExecReturnsRepliesOfEveryCommandInOrder)
{
    run_coro([]() -> awaitable<void> {
        auto conn = co_await start_connection();
        auto key = unique_name("conn-basic");
        request req;
        req.push("SET", key, "v1").push("GET", key).push("INCR", key).push("DEL", key);
        auto replies = co_await conn->exec(req);
        EXPECT_EQ(replies.size(), 4u);
        EXPECT_EQ(replies[0].str, "OK");
        EXPECT_EQ(replies[1].str, "v1");
        EXPECT_TRUE(replies[2].is_error());  // "ERR value is not an integer": a value, not thrown
        EXPECT_EQ(replies[3].integer, 1);
        conn->cancel();
    });
}

TEST(RedisConnection, HundredThousandConcurrentExecsGetTheirOwnReplies)
{
    run_coro(
        []() -> awaitable<void> {
            auto cfg = make_test_config();
            cfg.command_timeout = 55s;  // a loaded CI machine: every request must get its reply
            auto conn = co_await start_connection(cfg);
            constexpr int total = 100000;
            auto const matched = co_await echo_from_many_coroutines(*conn, total, 50s);
            EXPECT_EQ(matched, total);
            auto s = conn->stats();
            EXPECT_GE(s.commands_sent, std::uint64_t(total));
            EXPECT_LT(s.writes, std::uint64_t(total / 10)) << "requests should be coalesced into few writes";
            conn->cancel();
        },
        60s);
}

TEST(RedisConnection, ExecFromSeveralThreads)
{
    run_coro(
        []() -> awaitable<void> {
            auto conn = co_await start_connection();
            constexpr int total = 20000;
            auto const matched = co_await echo_from_many_coroutines(*conn, total, 25s);
            EXPECT_EQ(matched, total);
            conn->cancel();
        },
        30s, 2);
}

TEST(RedisConnection, SelectsTheDatabaseFromTheUrl)
{
    run_coro([]() -> awaitable<void> {
        auto key = unique_name("conn-db");
        auto db3 = redis::config_from_url(redis_url() + "/3").value();
        auto in3 = co_await start_connection(db3);
        auto in0 = co_await start_connection();
        request set;
        set.push("SET", key, "three");
        co_await in3->call(set);
        request get;
        get.push("GET", key);
        EXPECT_EQ((co_await in3->call(get)).str, "three");
        EXPECT_TRUE((co_await in0->call(get)).is_nil());
        request del;
        del.push("DEL", key);
        co_await in3->call(del);
        in3->cancel();
        in0->cancel();
    });
}

TEST(RedisConnection, ServerErrorRepliesBecomeTypedErrors)
{
    run_coro([]() -> awaitable<void> {
        auto conn = co_await start_connection();
        auto key = unique_name("conn-wrongtype");
        request add;
        add.push("XADD", key, "*", "f", "v");
        co_await conn->call(add);
        request incr;
        incr.push("INCR", key);
        std::string kind, text;
        try {
            co_await conn->call(incr);
        } catch (redis::server_error const& e) {
            kind = std::string(e.kind());
            text = e.what();
        }
        EXPECT_EQ(kind, "WRONGTYPE");
        EXPECT_NE(text.find("INCR"), std::string::npos) << text;
        conn->cancel();
    });
}

TEST(RedisConnection, BinarySafeValuesRoundTrip)
{
    run_coro([]() -> awaitable<void> {
        auto conn = co_await start_connection();
        auto key = unique_name("conn-binary");
        std::string value("a\0b\r\n\xff\xfe$*-+:", 13);
        request req;
        req.push("SET", key, value).push("GET", key).push("DEL", key);
        auto r = co_await conn->exec(req);
        EXPECT_EQ(r[1].str, value);
        conn->cancel();
    });
}

TEST(RedisConnection, SixtyFourMebibyteValueRoundTrips)
{
    run_coro(
        []() -> awaitable<void> {
            // Moving 64 MiB on a loaded CI machine can take longer than the test config's 500 ms
            // health-check window; this test is about size, not liveness.
            auto cfg = make_test_config();
            cfg.health_check_interval = std::chrono::seconds(10);
            auto conn = co_await start_connection(cfg);
            auto key = unique_name("conn-large");
            std::string value(64u << 20, '\0');
            for (std::size_t i = 0; i < value.size(); i += 4093)
                value[i] = static_cast<char>(i % 251);
            request set;
            set.push("SET", key, value);
            set.timeout = 20s;
            co_await conn->call(set);
            request get;
            get.push("GET", key);
            get.timeout = 20s;
            auto r = co_await conn->call(get);
            EXPECT_EQ(r.str.size(), value.size());
            EXPECT_TRUE(r.str == value);
            request del;
            del.push("DEL", key);
            co_await conn->call(del);
            conn->cancel();
        },
        60s);
}

TEST(RedisConnection, ClientKillFailsWrittenRequestsUnlessIdempotentAndReconnects)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_test_config();
        cfg.allow_blocking = true;
        cfg.health_check_interval = 0ms;
        auto conn = co_await start_connection(cfg);
        auto admin = co_await start_connection();
        request id_req;
        id_req.push("CLIENT", "ID");
        auto id = (co_await conn->call(id_req)).integer;
        auto key = unique_name("conn-kill");

        auto ex = co_await asio::this_coro::executor;
        std::string blpop_error, get_result = "(none)";
        std::atomic<int> done{0};
        auto const sent_before = conn->stats().commands_sent;
        // In flight when the connection is killed: a non-idempotent BLPOP, and behind it an
        // idempotent GET that must be re-sent after the reconnect.
        asio::co_spawn(ex, [&]() -> awaitable<void> {
            request blpop;
            blpop.push("BLPOP", key, 5);
            blpop.timeout = 10s;
            try {
                co_await conn->exec(blpop);
                blpop_error = "(no error)";
            } catch (es::error const& e) {
                blpop_error = e.what();
                EXPECT_EQ(e.code(), redis::make_error_code(redis::errc::connection_lost));
            }
            ++done;
        }, asio::detached);
        asio::co_spawn(ex, [&]() -> awaitable<void> {
            co_await sleep_for(20ms);
            request get;
            get.push("GET", key);
            get.idempotent = true;
            auto r = co_await conn->exec(get);
            get_result = r.at(0).is_nil() ? "nil" : r.at(0).str;
            ++done;
        }, asio::detached);
        // Kill only once both are on the wire (a fixed sleep raced with a loaded machine).
        auto* c = conn.get();
        EXPECT_TRUE(co_await eventually([c, sent_before] { return c->stats().commands_sent >= sent_before + 2; }));
        co_await sleep_for(20ms);
        request kill;
        kill.push("CLIENT", "KILL", "ID", id);
        co_await admin->call(kill);
        EXPECT_TRUE(co_await eventually([&] { return done.load() == 2; }));
        EXPECT_NE(blpop_error.find("BLPOP"), std::string::npos) << blpop_error;
        EXPECT_NE(blpop_error.find("lost"), std::string::npos) << blpop_error;
        EXPECT_EQ(get_result, "nil");
        request ping;
        ping.push("PING");
        EXPECT_EQ((co_await conn->call(ping)).str, "PONG");
        EXPECT_GE(conn->stats().connects, 2u);
        EXPECT_GE(conn->stats().resent, 1u);
        conn->cancel();
        admin->cancel();
    });
}

TEST(RedisConnection, ReconnectsAfterServerRestartWithinBackoffBound)
{
    exclusive_redis_server lock;
    run_coro([]() -> awaitable<void> {
        auto conn = co_await start_connection();
        request ping;
        ping.push("PING");
        ping.idempotent = true;
        co_await conn->call(ping);
        shell(redis_cli("shutdown nosave"));
        EXPECT_TRUE(co_await eventually([&] { return !conn->is_connected(); }, 5s));
        auto restarted_at = std::chrono::steady_clock::now();
        EXPECT_EQ(shell("redis-server " + required_env("ES_TEST_REDIS_CONF")), 0);
        EXPECT_TRUE(co_await eventually([&] { return shell(redis_cli("ping")) == 0; }, 10s));
        auto up_at = std::chrono::steady_clock::now();
        EXPECT_TRUE(co_await conn->wait_connected(5000ms));
        auto reconnect_delay = std::chrono::steady_clock::now() - up_at;
        // The backoff is capped at reconnect_wait_max (200 ms): the client is back within one
        // maximal wait of the server, plus slack for a loaded CI machine.
        EXPECT_LT(reconnect_delay, 200ms + 800ms);
        EXPECT_EQ((co_await conn->call(ping)).str, "PONG");
        EXPECT_GE(conn->stats().connects, 2u);
        (void)restarted_at;
        conn->cancel();
    }, 30s);
}

TEST(RedisConnection, CommandTimesOutWhileServerIsPaused)
{
    exclusive_redis_server lock;
    run_coro([]() -> awaitable<void> {
        auto admin = co_await start_connection();
        auto cfg = make_test_config();
        cfg.command_timeout = 100ms;
        cfg.health_check_interval = 0ms;
        auto conn = co_await start_connection(cfg);
        request ping;
        ping.push("PING");
        co_await conn->call(ping);
        request pause;
        pause.push("CLIENT", "PAUSE", 600, "ALL");
        co_await admin->call(pause);
        auto t0 = std::chrono::steady_clock::now();
        auto message = co_await expect_error([&]() -> awaitable<void> { co_await conn->call(ping); },
                                             redis::make_error_code(redis::errc::command_timeout));
        auto took = std::chrono::steady_clock::now() - t0;
        EXPECT_GE(took, 90ms);
        EXPECT_LT(took, 1000ms);  // 100 ms plus the sweeper's tick and a loaded machine
        EXPECT_NE(message.find("PING"), std::string::npos) << message;
        EXPECT_NE(message.find("127.0.0.1"), std::string::npos) << message;
        // After the pause the connection is usable again; the late reply of the timed-out PING
        // was discarded, so replies stay aligned.
        co_await sleep_for(700ms);
        request echo;
        echo.push("ECHO", "after-pause");
        EXPECT_EQ((co_await conn->call(echo)).str, "after-pause");
        conn->cancel();
        admin->cancel();
    });
}

TEST(RedisConnection, ConnectingToAClosedPortFailsFast)
{
    run_coro([]() -> awaitable<void> {
        // A port that was free a moment ago: nothing listens there.
        auto ex = co_await asio::this_coro::executor;
        unsigned short port = 0;
        {
            asio::ip::tcp::acceptor a(ex, {asio::ip::make_address("127.0.0.1"), 0});
            port = a.local_endpoint().port();
        }
        auto cfg = make_test_config();
        cfg.port = port;
        cfg.reconnect_wait = 0ms;
        redis::connection conn(ex, cfg);
        auto message = co_await expect_error([&]() -> awaitable<void> { co_await conn.run(); },
                                             redis::make_error_code(redis::errc::not_connected));
        EXPECT_NE(message.find(std::to_string(port)), std::string::npos) << message;

        // With reconnecting on, a command waits for a connection only up to its timeout.
        auto cfg2 = cfg;
        cfg2.reconnect_wait = 20ms;
        cfg2.command_timeout = 150ms;
        auto conn2 = co_await start_connection(cfg2);
        request ping;
        ping.push("PING");
        auto m2 = co_await expect_error([&]() -> awaitable<void> { co_await conn2->call(ping); },
                                        redis::make_error_code(redis::errc::command_timeout));
        EXPECT_NE(m2.find("not connected"), std::string::npos) << m2;
        conn2->cancel();
    });
}

TEST(RedisConnection, ConnectTimeoutWhenTheServerNeverAnswers)
{
    run_coro([]() -> awaitable<void> {
        // Listens (the kernel completes the TCP handshake) but never answers the setup PING.
        auto ex = co_await asio::this_coro::executor;
        asio::ip::tcp::acceptor silent(ex, {asio::ip::make_address("127.0.0.1"), 0});
        auto cfg = make_test_config();
        cfg.port = silent.local_endpoint().port();
        cfg.connect_timeout = 150ms;
        cfg.reconnect_wait = 0ms;
        redis::connection conn(ex, cfg);
        auto t0 = std::chrono::steady_clock::now();
        auto message = co_await expect_error([&]() -> awaitable<void> { co_await conn.run(); },
                                             redis::make_error_code(redis::errc::connect_timeout));
        EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
        EXPECT_NE(message.find("150 ms"), std::string::npos) << message;
    });
}

TEST(RedisConnection, AclUserWithRightPasswordConnects)
{
    run_coro([]() -> awaitable<void> {
        auto url = "redis://" + required_env("ES_TEST_REDIS_ACL_USER") + ":" + required_env("ES_TEST_REDIS_ACL_PASSWORD") +
                   "@127.0.0.1:" + std::to_string(redis_port());
        auto cfg = redis::config_from_url(url).value();
        cfg.reconnect_wait = 0ms;
        auto conn = co_await start_connection(cfg);
        request who;
        who.push("ACL", "WHOAMI");
        EXPECT_EQ((co_await conn->call(who)).str, required_env("ES_TEST_REDIS_ACL_USER"));
        conn->cancel();
    });
}

TEST(RedisConnection, AclUserWithWrongPasswordIsRefusedWithTheServerText)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_test_config();
        cfg.username = required_env("ES_TEST_REDIS_ACL_USER");
        cfg.password = "not-the-password";
        cfg.reconnect_wait = 0ms;
        auto ex = co_await asio::this_coro::executor;
        redis::connection conn(ex, cfg);
        auto message = co_await expect_error([&]() -> awaitable<void> { co_await conn.run(); },
                                             redis::make_error_code(redis::errc::server_error));
        EXPECT_NE(message.find("WRONGPASS"), std::string::npos) << message;
        EXPECT_EQ(message.find("not-the-password"), std::string::npos) << "the password must not appear: " << message;
    });
}

TEST(RedisConnection, TlsWithTheTestCa)
{
    run_coro([]() -> awaitable<void> {
        auto url = "rediss://127.0.0.1:" + required_env("ES_TEST_REDIS_TLS_PORT") +
                   "?ca_file=" + required_env("ES_TEST_REDIS_CA_FILE");
        auto cfg = redis::config_from_url(url).value();
        EXPECT_TRUE(cfg.use_tls);
        cfg.reconnect_wait = 0ms;
        auto conn = co_await start_connection(cfg);
        request req;
        req.push("ECHO", "over tls").push("PING");
        auto r = co_await conn->exec(req);
        EXPECT_EQ(r.at(0).str, "over tls");
        EXPECT_EQ(r.at(1).str, "PONG");
        conn->cancel();
    });
}

TEST(RedisConnection, TlsRefusesAServerCertificateFromAnUnknownCa)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_test_config();
        cfg.port = static_cast<std::uint16_t>(std::stoi(required_env("ES_TEST_REDIS_TLS_PORT")));
        cfg.use_tls = true;  // system CA store: does not know the test CA
        cfg.reconnect_wait = 0ms;
        auto ex = co_await asio::this_coro::executor;
        redis::connection conn(ex, cfg);
        bool failed = false;
        try {
            co_await conn.run();
        } catch (es::error const& e) {
            failed = true;
            EXPECT_NE(std::string(e.what()).find("127.0.0.1"), std::string::npos) << e.what();
        }
        EXPECT_TRUE(failed);
    });
}

TEST(RedisConnection, BlockingCommandsNeedADedicatedConnection)
{
    run_coro([]() -> awaitable<void> {
        auto conn = co_await start_connection();
        request req;
        req.push("XREADGROUP", "GROUP", "g", "c", "BLOCK", 100, "STREAMS", "s", ">");
        co_await expect_error([&]() -> awaitable<void> { co_await conn->exec(req); },
                              redis::make_error_code(redis::errc::blocking_not_allowed));
        conn->cancel();
    });
}

TEST(RedisConnection, CancelCompletesPendingRequestsWithOperationAborted)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_test_config();
        cfg.allow_blocking = true;
        auto conn = co_await start_connection(cfg);
        auto ex = co_await asio::this_coro::executor;
        boost::system::error_code got;
        bool done = false;
        asio::co_spawn(ex, [&]() -> awaitable<void> {
            request blpop;
            blpop.push("BLPOP", unique_name("conn-cancel"), 5);
            blpop.timeout = 10s;
            try {
                co_await conn->exec(blpop);
            } catch (es::error const& e) {
                got = e.code();
            }
            done = true;
        }, asio::detached);
        co_await sleep_for(50ms);
        conn->cancel();
        EXPECT_TRUE(co_await eventually([&] { return done; }, 2s));
        EXPECT_EQ(got, asio::error::operation_aborted);
        // Later requests fail at once.
        request ping;
        ping.push("PING");
        co_await expect_error([&]() -> awaitable<void> { co_await conn->exec(ping); }, asio::error::operation_aborted);
    });
}

TEST(RedisConnection, CallerCancellationLeavesRepliesAligned)
{
    run_coro([]() -> awaitable<void> {
        auto cfg = make_test_config();
        cfg.allow_blocking = true;
        cfg.health_check_interval = 0ms;
        auto conn = co_await start_connection(cfg);
        request blpop;
        blpop.push("BLPOP", unique_name("conn-abandon"), 1);
        blpop.timeout = 5s;
        bool timed_out = false;
        try {
            co_await with_timeout(conn->exec(blpop), 50ms, "BLPOP in the test");
        } catch (es::error const& e) {
            timed_out = e.code() == es::errc::timed_out;
        }
        EXPECT_TRUE(timed_out);
        request echo;
        echo.push("ECHO", "next");
        EXPECT_EQ((co_await conn->call(echo)).str, "next");  // not BLPOP's nil
        conn->cancel();
    });
}

}  // namespace
}  // namespace es::test
