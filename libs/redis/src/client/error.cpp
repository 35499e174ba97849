#include <es/redis/client/connection.hpp>
#include <es/redis/client/error.hpp>

namespace es::redis {
namespace {
class redis_category final : public boost::system::error_category {
public:
    char const* name() const noexcept override { return "es.redis"; }
    std::string message(int ev) const override
    {
        switch (static_cast<errc>(ev)) {
        case errc::not_connected: return "not connected to the Redis server";
        case errc::connection_lost: return "the connection was lost before the reply arrived";
        case errc::pong_timeout: return "the health-check PING got no answer in time";
        case errc::protocol_error: return "the server sent invalid RESP";
        case errc::server_error: return "the server answered with an error";
        case errc::unexpected_reply: return "the reply does not have the expected shape";
        case errc::command_timeout: return "the command got no reply in time";
        case errc::connect_timeout: return "connecting to the server took too long";
        case errc::blocking_not_allowed: return "blocking command on a connection not made for blocking commands";
        case errc::reply_too_large: return "the reply exceeds the configured size limit";
        case errc::invalid_url: return "invalid Redis URL";
        }
        return "unknown es.redis error";
    }
};
}  // namespace

boost::system::error_category const& error_category() noexcept
{
    static redis_category const category;
    return category;
}

server_error::server_error(std::string command, std::string server_message)
    : es::error(make_error_code(errc::server_error),
                "redis " + command + ": the server answered '" + server_message + "'")
    , command_(std::move(command))
    , server_message_(std::move(server_message))
{
}

std::string_view server_error::kind() const noexcept
{
    std::string_view m = server_message_;
    return m.substr(0, m.find(' '));
}

void throw_if_error(reply const& r, std::string_view command)
{
    if (r.is_error())
        throw server_error(std::string(command), r.str);
}

}  // namespace es::redis
