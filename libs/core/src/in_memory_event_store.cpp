#include <es/error.hpp>
#include <es/in_memory_event_store.hpp>


#include <algorithm>
#include <cstring>

namespace es {

std::size_t in_memory_event_store::id_hash::operator()(boost::uuids::uuid const& u) const noexcept
{
    // Version 4 UUIDs are random: their first 8 bytes are as good a hash as any.
    std::size_t h;
    std::memcpy(&h, u.data, sizeof h);
    return h;
}

append_result in_memory_event_store::append_now(std::string const& stream_id, expected_version expected,
                                                std::vector<new_event> events)
{
    if (stream_id.empty())
        throw error(errc::invalid_argument, "append: the stream id is empty");
    std::lock_guard lock(mutex_);
    auto stream_it = streams_.find(stream_id);
    std::uint64_t const current = stream_it == streams_.end() ? 0 : stream_it->second.size();

    // Idempotency first: a retried batch must succeed even though the stream has moved on.
    std::size_t repeated = 0;
    for (std::size_t i = 0; i < events.size(); ++i) {
        auto found = ids_.find(events[i].event_id);
        if (found == ids_.end())
            continue;
        auto const& stored = log_[found->second];
        if (stored.stream_id != stream_id)
            throw error(errc::duplicate_event_id, "append to stream '" + stream_id + "': event " +
                                                      to_string(events[i].event_id) + " is already stored in stream '" +
                                                      stored.stream_id + "'");
        ++repeated;
    }
    if (repeated > 0) {
        bool const same_batch = repeated == events.size() && [&] {
            auto first = log_[ids_.at(events.front().event_id)].stream_version;
            for (std::size_t i = 0; i < events.size(); ++i)
                if (log_[ids_.at(events[i].event_id)].stream_version != first + i)
                    return false;
            return true;
        }();
        if (!same_batch)
            throw error(errc::duplicate_event_id, "append to stream '" + stream_id +
                                                      "': the batch repeats some but not all events of an earlier append");
        return append_result{current, 0, {}, true};
    }

    if (!expected.matches(current))
        throw concurrency_error(stream_id, expected, current);
    for (std::size_t i = 0; i < events.size(); ++i)
        for (std::size_t j = i + 1; j < events.size(); ++j)
            if (events[i].event_id == events[j].event_id)
                throw error(errc::duplicate_event_id, "append to stream '" + stream_id + "': event " +
                                                          to_string(events[i].event_id) + " appears twice in the batch");

    append_result result;
    if (events.empty()) {
        result.stream_version = current;
        return result;
    }
    auto& indexes = stream_it == streams_.end() ? streams_[stream_id] : stream_it->second;
    auto const recorded = now();
    result.events.reserve(events.size());
    for (auto& e : events) {
        auto const version = indexes.size() + 1;
        auto const position = log_.size() + 1;
        // The batch is ours: move the payload and metadata instead of copying them.
        log_.push_back(event_envelope{e.event_id, std::move(e.event_type), e.schema_version, stream_id,
                                      std::move(e.aggregate_type), std::move(e.aggregate_id), version, position,
                                      e.occurred_at, recorded, std::move(e.metadata), std::move(e.payload)});
        indexes.push_back(position - 1);
        ids_.emplace(e.event_id, position - 1);
        result.events.push_back(log_.back());
    }
    result.stream_version = indexes.size();
    result.last_global_position = log_.size();
    return result;
}

awaitable<append_result> in_memory_event_store::append(std::string stream_id, expected_version expected,
                                                       std::vector<new_event> events)
{
    co_return append_now(stream_id, expected, std::move(events));
}

awaitable<std::vector<event_envelope>> in_memory_event_store::read_stream(std::string stream_id,
                                                                          read_stream_options options)
{
    std::vector<event_envelope> out;
    std::lock_guard lock(mutex_);
    auto it = streams_.find(stream_id);
    if (it == streams_.end() || options.max_count == 0)
        co_return out;
    auto const& indexes = it->second;
    std::uint64_t const size = indexes.size();
    if (options.direction == read_direction::forwards) {
        for (auto v = std::max<std::uint64_t>(options.from_version, 1); v <= size && out.size() < options.max_count; ++v)
            out.push_back(log_[indexes[v - 1]]);
    } else {
        auto v = options.from_version == 0 ? size : std::min(options.from_version, size);
        for (; v >= 1 && out.size() < options.max_count; --v)
            out.push_back(log_[indexes[v - 1]]);
    }
    co_return out;
}

awaitable<std::vector<event_envelope>> in_memory_event_store::read_all(read_all_options options)
{
    auto wanted = [&](event_envelope const& e) {
        auto in = [](std::vector<std::string> const& set, std::string const& v) {
            return set.empty() || std::find(set.begin(), set.end(), v) != set.end();
        };
        return in(options.event_types, e.event_type) && in(options.aggregate_types, e.aggregate_type);
    };
    std::vector<event_envelope> out;
    std::lock_guard lock(mutex_);
    for (auto i = options.after_position; i < log_.size() && out.size() < options.max_count; ++i)
        if (wanted(log_[i]))
            out.push_back(log_[i]);
    co_return out;
}

awaitable<std::uint64_t> in_memory_event_store::stream_version(std::string stream_id)
{
    std::lock_guard lock(mutex_);
    auto it = streams_.find(stream_id);
    co_return it == streams_.end() ? 0 : it->second.size();
}

}  // namespace es
