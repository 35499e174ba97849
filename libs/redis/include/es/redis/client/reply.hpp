#pragma once
// An owning RESP2 reply tree with checked accessors.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace es::redis {

enum class reply_type { nil, string, status, error, integer, array };

/// One reply. Strings are binary safe (NUL bytes and any byte values).
struct reply {
    reply_type type = reply_type::nil;
    std::string str;              ///< string, status and error replies
    long long integer = 0;        ///< integer replies
    std::vector<reply> elements;  ///< array replies; a nil array is type nil

    bool is_nil() const noexcept { return type == reply_type::nil; }
    bool is_error() const noexcept { return type == reply_type::error; }
    bool is_array() const noexcept { return type == reply_type::array; }
    bool is_integer() const noexcept { return type == reply_type::integer; }
    /// A bulk or status string.
    bool is_string() const noexcept { return type == reply_type::string || type == reply_type::status; }

    /// For messages: "+OK", "$5", "*3", "(nil)", "-ERR …".
    std::string describe() const;

    friend bool operator==(reply const&, reply const&) = default;
};

/// Replies of one request, in the order of its commands.
using response = std::vector<reply>;

char const* to_string(reply_type t) noexcept;

}  // namespace es::redis
