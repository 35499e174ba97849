#pragma once
// The event store interface: append-only streams with optimistic concurrency, plus a global log.
#include <es/asio.hpp>
#include <es/event.hpp>
#include <es/expected_version.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace es {

struct append_result {
    std::uint64_t stream_version = 0;        ///< the stream's version after the append
    std::uint64_t last_global_position = 0;  ///< position of the last event written (0 if none)
    std::vector<event_envelope> events;      ///< exactly what was stored, with positions
    bool already_stored = false;             ///< the batch was a retry of an append that succeeded
};

enum class read_direction { forwards, backwards };

struct read_stream_options {
    /// First version to read. Backwards, 0 means "from the newest event".
    std::uint64_t from_version = 1;
    std::size_t max_count = std::numeric_limits<std::size_t>::max();
    read_direction direction = read_direction::forwards;
};

struct read_all_options {
    std::uint64_t after_position = 0;    ///< events with a larger global position
    std::size_t max_count = 1000;
    std::vector<std::string> event_types;      ///< empty: all
    std::vector<std::string> aggregate_types;  ///< empty: all
};

/// Every implementation passes the same conformance suite (test/conformance).
///
/// The convenience overloads exist instead of default arguments: g++ 12 destroys a braced
/// temporary argument twice when it appears inside a co_await expression (docs/architecture.md),
/// so coroutine APIs here take no class-type default arguments. Implementations re-export them
/// with `using event_store::read_stream; using event_store::read_all;`.
class event_store {
public:
    virtual ~event_store() = default;

    /// Appends `events` to the stream atomically, all or nothing.
    /// Throws concurrency_error when `expected` does not match the stream.
    /// Idempotent by event id: a batch whose ids are all already stored in this stream, in this
    /// order, is a no-op (already_stored = true). An id stored in another stream, or a batch that
    /// only partly repeats an earlier one, throws es::error(duplicate_event_id).
    virtual awaitable<append_result> append(std::string stream_id, expected_version expected,
                                            std::vector<new_event> events) = 0;

    /// Events of one stream in version order (or reverse order when reading backwards).
    virtual awaitable<std::vector<event_envelope>> read_stream(std::string stream_id,
                                                               read_stream_options options) = 0;
    /// The whole stream, oldest first.
    awaitable<std::vector<event_envelope>> read_stream(std::string stream_id)
    {
        return read_stream(std::move(stream_id), read_stream_options());
    }

    /// The store-wide log in global order, after a position. Never returns an event while an
    /// event with a lower position can still commit, so a reader that checkpoints the last
    /// position it saw never skips one.
    virtual awaitable<std::vector<event_envelope>> read_all(read_all_options options) = 0;
    /// The first page of the log with default options.
    awaitable<std::vector<event_envelope>> read_all() { return read_all(read_all_options()); }

    /// The stream's version: the number of events in it, 0 when it does not exist.
    virtual awaitable<std::uint64_t> stream_version(std::string stream_id) = 0;
};

}  // namespace es
