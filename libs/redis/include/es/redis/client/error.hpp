#pragma once
// Error codes of the Redis client and the exception that carries a server's error reply.
#include <es/error.hpp>

#include <string>
#include <string_view>

namespace es::redis {

enum class errc {
    not_connected = 1,     ///< No connection to the server, and none could be made in time.
    connection_lost,       ///< The connection dropped after the command was written; it may or may not have run.
    pong_timeout,          ///< The health-check PING got no answer in time; the connection was closed.
    protocol_error,        ///< The server sent bytes that are not valid RESP2.
    server_error,          ///< The server answered with an error reply (see server_error::server_message()).
    unexpected_reply,      ///< The reply does not have the shape the command's decoder expects.
    command_timeout,       ///< No reply arrived within the command's timeout.
    connect_timeout,       ///< Connecting (TCP, TLS handshake or AUTH/SELECT) took too long.
    blocking_not_allowed,  ///< A blocking command was sent on a connection not created for blocking commands.
    reply_too_large,       ///< A reply exceeded config::max_reply_size.
    invalid_url,           ///< The connection URL could not be parsed.
};

boost::system::error_category const& error_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), error_category()};
}

/// An error reply from the server ("-WRONGTYPE Operation against a key…"), with its text.
class server_error : public es::error {
public:
    server_error(std::string command, std::string server_message);
    /// The server's text, unchanged (untrusted: log it, never use it as a format string).
    std::string const& server_message() const noexcept { return server_message_; }
    /// The first word of the message: "ERR", "WRONGTYPE", "BUSYGROUP", "NOSCRIPT", "WRONGPASS"…
    std::string_view kind() const noexcept;
    std::string const& command() const noexcept { return command_; }

private:
    std::string command_;
    std::string server_message_;
};

}  // namespace es::redis

template <>
struct boost::system::is_error_code_enum<es::redis::errc> : std::true_type {};
