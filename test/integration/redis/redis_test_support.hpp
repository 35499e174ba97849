#pragma once
// Shared by the Redis integration tests: a fast-reconnecting config and a server lock.
//
// ctest runs tests in parallel against one redis-server. Tests that disturb the whole server
// (restart, CLIENT PAUSE) take the lock exclusively; every other test process holds it shared
// for its lifetime, so it never runs while the server is being restarted or paused.
#include "support/run_coro.hpp"
#include "support/servers.hpp"

#include <es/redis/client/config.hpp>
#include <es/redis/client/connection.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <string>

namespace es::test {

class redis_server_lock {
public:
    static redis_server_lock& instance()
    {
        static redis_server_lock lock;
        return lock;
    }
    void shared() { ::flock(fd_, LOCK_SH); }
    void exclusive() { ::flock(fd_, LOCK_EX); }

private:
    redis_server_lock()
    {
        auto conf = required_env("ES_TEST_REDIS_CONF");
        auto path = conf.substr(0, conf.rfind('/')) + "/tests.lock";
        fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);  // not inherited by redis-server
        shared();
    }
    int fd_ = -1;
};

/// Held for the duration of a test that restarts or pauses the server.
struct exclusive_redis_server {
    exclusive_redis_server() { redis_server_lock::instance().exclusive(); }
    ~exclusive_redis_server() { redis_server_lock::instance().shared(); }
};

/// A config for the test server with millisecond-scale intervals.
inline redis::config make_test_config()
{
    redis_server_lock::instance();
    redis::config c;
    c.host = "127.0.0.1";
    c.port = redis_port();
    c.connect_timeout = std::chrono::milliseconds(2000);
    c.command_timeout = std::chrono::milliseconds(5000);
    c.health_check_interval = std::chrono::milliseconds(500);
    c.reconnect_wait = std::chrono::milliseconds(20);
    c.reconnect_wait_max = std::chrono::milliseconds(200);
    return c;
}

/// A connection whose run() is spawned on the current executor.
inline awaitable<std::shared_ptr<redis::connection>> start_connection(redis::config cfg)
{
    auto ex = co_await asio::this_coro::executor;
    auto conn = std::make_shared<redis::connection>(ex, std::move(cfg));
    asio::co_spawn(ex, conn->run(), asio::detached);
    co_return conn;
}

inline awaitable<std::shared_ptr<redis::connection>> start_connection()
{
    return start_connection(make_test_config());
}

/// Runs a shell command (redis-cli, redis-server); returns its exit status.
int shell(std::string const& command);

}  // namespace es::test
