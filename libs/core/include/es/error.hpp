#pragma once
// Error codes and exceptions of eventsource-cpp.
//
// Policy: infrastructure failures and concurrency conflicts throw; outcomes that callers branch
// on (decoding a possibly poisonous message) are returned as boost::system::result.
#include <es/expected_version.hpp>

#include <boost/assert/source_location.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <boost/system/system_error.hpp>

#include <cstdint>
#include <exception>
#include <string>

namespace es {

enum class errc {
    wrong_expected_version = 1,  ///< The stream's version differs from the one the writer expected.
    stream_not_found,            ///< No event has been stored under this stream id.
    unknown_event_type,          ///< The registry has no type with this name.
    unsupported_event_version,   ///< No upcaster chain leads from this schema version to the current one.
    malformed_event,             ///< The payload or envelope does not have the expected shape.
    duplicate_event_id,          ///< The event id is already stored in another stream or batch position.
    duplicate_registration,      ///< Two types were registered under one event type name.
    rule_violated,               ///< An aggregate refused a command.
    timed_out,                   ///< An operation did not finish within its time limit.
    not_connected,               ///< The backend is not reachable right now.
    invalid_argument,            ///< A caller passed a value the operation cannot accept.
    in_progress,                 ///< Another delivery is processing this event right now.
};

}  // namespace es

template <>
struct boost::system::is_error_code_enum<es::errc> : std::true_type {};

namespace es {

boost::system::error_category const& error_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), error_category()};
}

/// Base of every exception the framework throws. what() says what happened and to what.
class error : public boost::system::system_error {
public:
    error(boost::system::error_code code, std::string what) : system_error(code), what_(std::move(what)) {}
    error(errc code, std::string what) : system_error(make_error_code(code)), what_(std::move(what)) {}
    /// The message alone, without system_error's "[category:value]" suffix.
    char const* what() const noexcept override { return what_.c_str(); }

private:
    std::string what_;
};

/// An append found the stream at another version than the caller expected.
class concurrency_error : public error {
public:
    concurrency_error(std::string stream_id, expected_version expected, std::uint64_t actual);

    std::string const& stream_id() const noexcept { return stream_id_; }
    expected_version expected() const noexcept { return expected_; }
    std::uint64_t actual_version() const noexcept { return actual_; }

private:
    std::string stream_id_;
    expected_version expected_;
    std::uint64_t actual_;
};

/// An aggregate refused a command because it would break a business rule.
class domain_error : public error {
public:
    explicit domain_error(std::string const& what) : error(errc::rule_violated, what) {}
};

/// A repository was asked to load an aggregate that has no events.
class not_found_error : public error {
public:
    explicit not_found_error(std::string stream_id);
    std::string const& stream_id() const noexcept { return stream_id_; }

private:
    std::string stream_id_;
};

/// An error as a value: the code to branch on and a message that says what and where.
struct failure {
    boost::system::error_code code;
    std::string message;
};

/// Called by result<T>::value() on failure (found by ADL): throws es::error with the message.
[[noreturn]] void throw_exception_from_error(failure const& f, boost::source_location const& loc);

/// A value or a failure; value() throws es::error.
template <class T>
using result = boost::system::result<T, failure>;

inline failure make_failure(errc code, std::string message)
{
    return failure{make_error_code(code), std::move(message)};
}

/// what() of the exception `e` holds, or "unknown exception" when it is not a std::exception;
/// for logging a failure caught with catch (...).
std::string exception_message(std::exception_ptr const& e);

}  // namespace es
