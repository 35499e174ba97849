#pragma once
// The embedded default store: everything in process memory, same semantics as the durable ones.
#include <es/event_store.hpp>

#include <boost/uuid/uuid.hpp>

#include <deque>
#include <mutex>
#include <unordered_map>

namespace es {

/// Safe to use from concurrent coroutines on several threads: every operation takes one lock
/// and nothing is awaited while it is held. Positions are assigned at commit under that lock,
/// so read_all never has a gap to wait for.
class in_memory_event_store final : public event_store {
public:
    using event_store::read_all;
    using event_store::read_stream;

    awaitable<append_result> append(std::string stream_id, expected_version expected,
                                    std::vector<new_event> events) override;
    awaitable<std::vector<event_envelope>> read_stream(std::string stream_id,
                                                       read_stream_options options) override;
    awaitable<std::vector<event_envelope>> read_all(read_all_options options) override;
    awaitable<std::uint64_t> stream_version(std::string stream_id) override;

    /// Synchronous form of append, for code outside coroutines (benchmarks, tests).
    append_result append_now(std::string const& stream_id, expected_version expected,
                             std::vector<new_event> events);

private:
    struct id_hash {
        std::size_t operator()(boost::uuids::uuid const& u) const noexcept;
    };

    mutable std::mutex mutex_;
    // A deque, not a vector: growing it never moves the stored envelopes.
    std::deque<event_envelope> log_;  // index = position - 1
    std::unordered_map<std::string, std::vector<std::size_t>> streams_;  // stream -> indexes into log_
    std::unordered_map<boost::uuids::uuid, std::size_t, id_hash> ids_;  // event id -> index into log_
};

}  // namespace es
