#include <es/redis/client/reply.hpp>

namespace es::redis {

char const* to_string(reply_type t) noexcept
{
    switch (t) {
    case reply_type::nil: return "nil";
    case reply_type::string: return "bulk string";
    case reply_type::status: return "status";
    case reply_type::error: return "error";
    case reply_type::integer: return "integer";
    case reply_type::array: return "array";
    }
    return "?";
}

std::string reply::describe() const
{
    switch (type) {
    case reply_type::nil: return "(nil)";
    case reply_type::string: return "bulk string of " + std::to_string(str.size()) + " bytes";
    case reply_type::status: return "+" + str.substr(0, 64);
    case reply_type::error: return "-" + str.substr(0, 200);
    case reply_type::integer: return ":" + std::to_string(integer);
    case reply_type::array: return "array of " + std::to_string(elements.size());
    }
    return "?";
}

}  // namespace es::redis
