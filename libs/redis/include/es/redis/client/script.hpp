#pragma once
// Lua scripts run by SHA1 (EVALSHA), falling back to EVAL when the server does not have the
// script cached yet (NOSCRIPT); EVAL caches it server-side, so later calls send only the hash.
#include <es/asio.hpp>
#include <es/redis/client/connection.hpp>

#include <string>
#include <vector>

namespace es::redis {

class script {
public:
    explicit script(std::string source);
    std::string const& source() const noexcept { return source_; }
    /// Lower-case hex SHA1 of the source, as SCRIPT LOAD returns it.
    std::string const& sha1() const noexcept { return sha1_; }

private:
    std::string source_;
    std::string sha1_;
};

/// Runs the script (EVALSHA, then EVAL on NOSCRIPT). An error reply throws server_error.
awaitable<reply> eval(connection& c, script const& s, std::vector<std::string> keys, std::vector<std::string> args);

}  // namespace es::redis
