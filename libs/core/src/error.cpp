#include <es/error.hpp>
#include <es/with_timeout.hpp>

#include <boost/throw_exception.hpp>

namespace es {
namespace {
class es_category final : public boost::system::error_category {
public:
    char const* name() const noexcept override { return "es"; }
    std::string message(int ev) const override
    {
        switch (static_cast<errc>(ev)) {
        case errc::wrong_expected_version: return "the stream is not at the expected version";
        case errc::stream_not_found: return "no events are stored under this stream id";
        case errc::unknown_event_type: return "no registered event type has this name";
        case errc::unsupported_event_version: return "no upcaster leads from this schema version to the current one";
        case errc::malformed_event: return "the event does not have the expected shape";
        case errc::duplicate_event_id: return "the event id is already stored elsewhere";
        case errc::duplicate_registration: return "another type is registered under this event type name";
        case errc::rule_violated: return "the command breaks a business rule";
        case errc::timed_out: return "the operation timed out";
        case errc::not_connected: return "the backend is not reachable";
        case errc::invalid_argument: return "invalid argument";
        case errc::in_progress: return "in progress elsewhere";
        }
        return "unknown es error";
    }
};
}  // namespace

boost::system::error_category const& error_category() noexcept
{
    static es_category const category;
    return category;
}

void throw_exception_from_error(failure const& f, boost::source_location const& loc)
{
    boost::throw_exception(error(f.code, f.message), loc);
}

std::string expected_version::to_string() const
{
    switch (kind_) {
    case kind::any: return "any version";
    case kind::no_stream: return "no stream";
    case kind::stream_exists: return "an existing stream";
    case kind::exact: return "version " + std::to_string(value_);
    }
    return "?";
}

concurrency_error::concurrency_error(std::string stream_id, expected_version expected, std::uint64_t actual)
    : error(errc::wrong_expected_version, "append to stream '" + stream_id + "': expected " + expected.to_string() +
                                              ", but the stream is at version " + std::to_string(actual))
    , stream_id_(std::move(stream_id))
    , expected_(expected)
    , actual_(actual)
{
}

not_found_error::not_found_error(std::string stream_id)
    : error(errc::stream_not_found, "stream '" + stream_id + "' has no events")
    , stream_id_(std::move(stream_id))
{
}

namespace detail {
void throw_timed_out(std::string_view what, std::chrono::steady_clock::duration limit)
{
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(limit).count();
    throw error(errc::timed_out, std::string(what) + " did not finish within " + std::to_string(ms) + " ms");
}
}  // namespace detail

std::string exception_message(std::exception_ptr const& e)
{
    try {
        std::rethrow_exception(e);
    } catch (std::exception const& ex) {
        return ex.what();
    } catch (...) {
        return "unknown exception";
    }
}

}  // namespace es
