#pragma once
// JSON parsing for the event decoders of the backends, which parse a payload and its metadata
// for every event they read.
#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

#include <string_view>

namespace es::detail {

/// Parses one complete JSON text with a parser kept per thread, so that its working buffers are
/// reused instead of allocated for every event. On failure `ec` is set and the value is null.
boost::json::value parse_json(std::string_view text, boost::system::error_code& ec);

/// The same, throwing boost::system::system_error on malformed JSON.
boost::json::value parse_json(std::string_view text);

}  // namespace es::detail
