#pragma once
// Typed Redis Streams commands: request builders (push_*), pure decoders (decode_*, unit-tested
// against malformed replies) and coroutines that do both over a connection.
// Decoders return es::result: errc::unexpected_reply naming the command and what was wrong, or
// errc::server_error with the server's text for an error reply.
#include <es/asio.hpp>
#include <es/error.hpp>
#include <es/redis/client/connection.hpp>
#include <es/redis/client/reply.hpp>
#include <es/redis/client/request.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace es::redis {

using field_list = std::vector<std::pair<std::string, std::string>>;

/// One stream entry. `deleted` marks a pending entry whose data was deleted or trimmed (Redis
/// returns its id with nil fields).
struct stream_entry {
    std::string id;
    field_list fields;
    bool deleted = false;

    /// The value of the first field named `name`, or nullptr.
    std::string const* field(std::string_view name) const noexcept;
};

/// Entries of one stream in an XREAD/XREADGROUP reply.
struct stream_messages {
    std::string stream;
    std::vector<stream_entry> entries;
};

struct xadd_options {
    std::string id = "*";                       ///< explicit id, or "*" for a server-generated one
    std::optional<std::uint64_t> max_len;       ///< MAXLEN
    std::optional<std::string> min_id;          ///< MINID
    bool approximate = true;                    ///< "~" with MAXLEN/MINID (much cheaper)
    bool no_mkstream = false;                   ///< NOMKSTREAM
};

struct xreadgroup_options {
    std::size_t count = 0;                      ///< COUNT; 0: none
    std::optional<std::chrono::milliseconds> block;  ///< BLOCK (needs config::allow_blocking)
    bool no_ack = false;                        ///< NOACK
};

struct xautoclaim_result {
    std::string next_cursor;                    ///< "0-0" when the whole PEL has been scanned
    std::vector<stream_entry> entries;          ///< claimed entries
    std::vector<std::string> deleted_ids;       ///< pending ids whose entries no longer exist (removed from the PEL)
};

struct pending_summary {
    std::uint64_t count = 0;
    std::string smallest_id;                    ///< empty when count is 0
    std::string largest_id;
    std::vector<std::pair<std::string, std::uint64_t>> consumers;
};

struct pending_entry {
    std::string id;
    std::string consumer;
    std::chrono::milliseconds idle{0};
    std::uint64_t deliveries = 0;
};

struct xpending_range_options {
    std::string start = "-";
    std::string end = "+";
    std::size_t count = 100;
    std::optional<std::chrono::milliseconds> min_idle;  ///< IDLE
    std::string consumer;                               ///< empty: all
};

struct stream_info_reply {
    std::uint64_t length = 0;
    std::uint64_t groups = 0;
    std::string last_generated_id;
    std::optional<std::uint64_t> entries_added;        ///< Redis >= 7
    std::string max_deleted_entry_id;                  ///< Redis >= 7
    std::string recorded_first_entry_id;               ///< Redis >= 7
    std::optional<stream_entry> first_entry;
    std::optional<stream_entry> last_entry;
};

struct group_info {
    std::string name;
    std::uint64_t consumers = 0;
    std::uint64_t pending = 0;
    std::string last_delivered_id;
    std::optional<std::uint64_t> entries_read;         ///< Redis >= 7
    std::optional<std::uint64_t> lag;                  ///< Redis >= 7; nil when Redis cannot tell
};

struct consumer_info {
    std::string name;
    std::uint64_t pending = 0;
    std::chrono::milliseconds idle{0};
    std::optional<std::chrono::milliseconds> inactive; ///< Redis >= 7.2
};

// ---- request builders ------------------------------------------------------------------------
void push_xadd(request& req, std::string_view key, field_list const& fields, xadd_options const& opts);
void push_xreadgroup(request& req, std::string_view group, std::string_view consumer, std::string_view key,
                     std::string_view id, xreadgroup_options const& opts);
void push_xack(request& req, std::string_view key, std::string_view group, std::vector<std::string> const& ids);
void push_xautoclaim(request& req, std::string_view key, std::string_view group, std::string_view consumer,
                     std::chrono::milliseconds min_idle, std::string_view cursor, std::size_t count);
void push_xclaim(request& req, std::string_view key, std::string_view group, std::string_view consumer,
                 std::chrono::milliseconds min_idle, std::vector<std::string> const& ids);
void push_xpending_range(request& req, std::string_view key, std::string_view group,
                         xpending_range_options const& opts);

// ---- decoders ---------------------------------------------------------------------------------
result<std::string> decode_string(reply const& r, std::string_view command);
result<std::int64_t> decode_integer(reply const& r, std::string_view command);
result<void> decode_ok(reply const& r, std::string_view command);
// The decoders of entries take the reply by value and move its strings into the entries: pass a
// reply you no longer need with std::move.
result<stream_entry> decode_entry(reply r, std::string_view command);
/// XRANGE, XREVRANGE, XCLAIM.
result<std::vector<stream_entry>> decode_entries(reply r, std::string_view command);
/// XREAD, XREADGROUP (nil: nothing arrived within BLOCK).
result<std::vector<stream_messages>> decode_xread(reply r);
result<xautoclaim_result> decode_xautoclaim(reply r);
result<pending_summary> decode_xpending_summary(reply const& r);
result<std::vector<pending_entry>> decode_xpending_range(reply const& r);
result<stream_info_reply> decode_xinfo_stream(reply const& r);
result<std::vector<group_info>> decode_xinfo_groups(reply const& r);
result<std::vector<consumer_info>> decode_xinfo_consumers(reply const& r);
/// XGROUP CREATE: true when created, false when the group existed (BUSYGROUP).
result<bool> decode_xgroup_create(reply const& r);
/// MULTI … EXEC: the EXEC reply's elements (a nil EXEC, aborted by WATCH, is an error).
result<std::vector<reply>> decode_exec(response const& replies);

// ---- coroutines (throw es::error / server_error) ----------------------------------------------
awaitable<std::string> xadd(connection& c, std::string key, field_list fields, xadd_options opts);
awaitable<std::string> xadd(connection& c, std::string key, field_list fields);
awaitable<std::vector<stream_messages>> xreadgroup(connection& c, std::string group, std::string consumer,
                                                   std::string key, std::string id, xreadgroup_options opts);
awaitable<std::int64_t> xack(connection& c, std::string key, std::string group, std::vector<std::string> ids);
awaitable<xautoclaim_result> xautoclaim(connection& c, std::string key, std::string group, std::string consumer,
                                        std::chrono::milliseconds min_idle, std::string cursor, std::size_t count);
awaitable<std::vector<stream_entry>> xclaim(connection& c, std::string key, std::string group, std::string consumer,
                                            std::chrono::milliseconds min_idle, std::vector<std::string> ids);
awaitable<pending_summary> xpending_summary(connection& c, std::string key, std::string group);
awaitable<std::vector<pending_entry>> xpending_range(connection& c, std::string key, std::string group,
                                                     xpending_range_options opts);
awaitable<stream_info_reply> xinfo_stream(connection& c, std::string key);
awaitable<std::vector<group_info>> xinfo_groups(connection& c, std::string key);
awaitable<std::vector<consumer_info>> xinfo_consumers(connection& c, std::string key, std::string group);
/// XRANGE key start end [COUNT count]; count 0: all.
awaitable<std::vector<stream_entry>> xrange(connection& c, std::string key, std::string start, std::string end,
                                            std::size_t count);
awaitable<std::vector<stream_entry>> xrevrange(connection& c, std::string key, std::string end, std::string start,
                                               std::size_t count);
/// XTRIM key MAXLEN [~] n; returns the number of entries removed.
awaitable<std::int64_t> xtrim_maxlen(connection& c, std::string key, std::uint64_t max_len, bool approximate);
/// XTRIM key MINID [~] id.
awaitable<std::int64_t> xtrim_minid(connection& c, std::string key, std::string min_id, bool approximate);
awaitable<std::int64_t> xdel(connection& c, std::string key, std::vector<std::string> ids);
awaitable<std::int64_t> xlen(connection& c, std::string key);
/// XGROUP CREATE key group id MKSTREAM; false when the group already existed.
awaitable<bool> xgroup_create(connection& c, std::string key, std::string group, std::string id);
awaitable<void> xgroup_setid(connection& c, std::string key, std::string group, std::string id);
/// Returns the number of pending entries the consumer had.
awaitable<std::int64_t> xgroup_delconsumer(connection& c, std::string key, std::string group, std::string consumer);
/// Sends MULTI, the request's commands, EXEC as one request; returns EXEC's replies.
awaitable<std::vector<reply>> transaction(connection& c, request const& commands);

/// Parses "<ms>-<seq>"; nullopt for anything else.
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_stream_id(std::string_view id);
/// Compares two stream ids numerically (-1, 0, 1); malformed ids compare as 0-0.
int compare_stream_ids(std::string_view a, std::string_view b);

}  // namespace es::redis
