#pragma once
// The durable event store on PostgreSQL (docs/event-store.md).
#include <es/event_store.hpp>
#include <es/postgres/database.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace es::postgres {

/// What the store knows about one stream.
struct stream_info {
    std::string stream_id;
    std::string aggregate_type;
    std::uint64_t version = 0;           ///< events ever appended, truncated ones included
    std::uint64_t truncated_before = 0;  ///< read_stream hides versions below this (0/1: none)
    bool deleted = false;                ///< soft-deleted: read_stream returns nothing
};

struct list_streams_options {
    std::string aggregate_type;       ///< empty: every type
    std::string after_stream_id;      ///< paging: streams sorting after this id
    std::size_t max_count = 1000;
    bool include_deleted = false;
};

struct store_statistics {
    std::uint64_t events = 0;            ///< events stored (truncated ones included)
    std::uint64_t streams = 0;           ///< streams with at least one event
    std::uint64_t newest_position = 0;   ///< highest global position assigned
    std::uint64_t readable_position = 0; ///< highest position read_all may return right now
};

/// Implements es::event_store on PostgreSQL.
///
/// append is one statement (one transaction, one round trip) whatever the batch size; with
/// config::group_commit, concurrent appends to different streams share that statement. read_all
/// is gap-safe: it never returns an event while a transaction that can still commit a lower
/// position is open, so a reader that checkpoints the last position it saw skips nothing.
/// Every blocking call runs on the database's threads, never on the caller's.
class event_store final : public es::event_store {
public:
    using es::event_store::read_all;
    using es::event_store::read_stream;

    explicit event_store(std::shared_ptr<database> db);
    /// Creates its own database (pool) from `cfg`.
    explicit event_store(config cfg);

    awaitable<append_result> append(std::string stream_id, expected_version expected,
                                    std::vector<new_event> events) override;
    awaitable<std::vector<event_envelope>> read_stream(std::string stream_id, read_stream_options options) override;
    awaitable<std::vector<event_envelope>> read_all(read_all_options options) override;
    awaitable<std::uint64_t> stream_version(std::string stream_id) override;

    /// Whether the stream has events and is not deleted.
    awaitable<bool> stream_exists(std::string stream_id);
    /// The stream's record, if anything was ever appended to it.
    awaitable<std::optional<stream_info>> stream(std::string stream_id);
    /// Streams in id order, optionally of one aggregate type.
    awaitable<std::vector<stream_info>> list_streams(list_streams_options options);
    /// Hides events with a version below `before_version` from read_stream. Soft: the rows stay
    /// (read_all still returns them) and the operation is recorded in stream_operations.
    awaitable<void> truncate_stream(std::string stream_id, std::uint64_t before_version);
    /// Soft-deletes the stream: read_stream returns nothing, stream_exists false; versions go on
    /// from where they were if the stream is appended to again. Recorded in stream_operations.
    awaitable<void> delete_stream(std::string stream_id);
    awaitable<store_statistics> statistics();

    std::shared_ptr<database> const& db() const noexcept { return db_; }

    struct group_queue;

private:
    std::shared_ptr<database> db_;
    std::shared_ptr<group_queue> group_;  ///< null unless config::group_commit.enabled
};

}  // namespace es::postgres
