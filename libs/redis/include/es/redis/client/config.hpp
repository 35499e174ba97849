#pragma once
// Connection settings. Durations: zero disables the feature, as in Boost.Redis.
#include <es/error.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace es::redis {

struct config {
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    /// Redis 6 ACL user; empty: AUTH with the password alone (requirepass), or no AUTH.
    std::string username;
    /// Never logged.
    std::string password;
    /// Database selected after connecting (SELECT is skipped for 0).
    int database = 0;
    /// CLIENT SETNAME after connecting; empty: none.
    std::string client_name = "eventsource-cpp";

    /// TLS (rediss://): the server certificate is checked against ca_file (or the system store when
    /// empty) and, when verify_server_name is set, its name against `host`.
    bool use_tls = false;
    std::string ca_file;
    bool verify_server_name = true;

    /// TCP connect + TLS handshake + AUTH/SELECT (default 5 s).
    std::chrono::milliseconds connect_timeout{5000};
    /// Default time limit of each command, from exec() to its reply (default 10 s); per request
    /// overridable. Zero: wait as long as the connection lives.
    std::chrono::milliseconds command_timeout{10000};
    /// A PING every interval; no answer within the interval closes the connection (default 2 s).
    /// Zero disables it (blocking connections do: their PING would queue behind BLOCK).
    std::chrono::milliseconds health_check_interval{2000};
    /// First reconnect delay, doubled after every failed attempt up to reconnect_wait_max, each
    /// delay drawn with jitter from [d/2, d] (default 50 ms .. 2 s). Zero: run() returns after the
    /// first connection loss instead of reconnecting.
    std::chrono::milliseconds reconnect_wait{50};
    std::chrono::milliseconds reconnect_wait_max{2000};

    /// Allows blocking commands (XREADGROUP … BLOCK, BLPOP…). A connection used for them cannot
    /// serve anyone else while the server holds the command, so only dedicated connections set it.
    bool allow_blocking = false;

    /// Largest reply accepted (default 1 GiB); larger ones close the connection with reply_too_large.
    std::size_t max_reply_size = std::size_t(1) << 30;

    /// "host:port", for messages.
    std::string endpoint() const;
};

/// Parses redis://[user:password@]host[:port][/db] and rediss://… (TLS). Query parameters:
/// ca_file=…, verify_server_name=0|1, client_name=…, connect_timeout_ms, command_timeout_ms,
/// health_check_interval_ms.
result<config> config_from_url(std::string_view url);

}  // namespace es::redis
