#pragma once
// Private to es::postgres: SQL text, migrations and row decoding shared by the translation units.
#include <es/asio.hpp>
#include <es/event.hpp>

#include <boost/asio/thread_pool.hpp>

#include <functional>

#include <pqxx/connection>
#include <pqxx/row>

#include <string>
#include <utility>
#include <vector>


namespace es::postgres::detail {

/// Prepared statements as (name, SQL) for a schema; prepared on every new connection.
std::vector<std::pair<std::string, std::string>> statements(std::string const& quoted_schema);

/// Brings the schema to schema_version under a transaction-scoped advisory lock, so two
/// processes starting at once migrate it once. Throws es::error for an unknown (newer) version.
void migrate(pqxx::connection& conn, std::string const& schema, std::string const& quoted_schema,
             std::string const& server);
/// The version recorded in the schema's migration table, 0 when there is none.
int recorded_schema_version(pqxx::connection& conn, std::string const& schema, std::string const& quoted_schema);

/// Runs the blocking `fn` on `pool` and resumes the caller on its own executor, which counts
/// as busy meanwhile (an io_context whose only task waits here does not return from run()).
/// Exceptions of fn are rethrown to the caller.
awaitable<void> run_on(asio::thread_pool& pool, std::function<void()> fn);

/// Columns every event query selects, in the order decode_event reads them.
inline constexpr char const* event_columns =
    "global_position, stream_id, stream_version, event_id::text, event_type, schema_version, aggregate_type, "
    "aggregate_id, payload::text, metadata::text, (extract(epoch FROM occurred_at) * 1000000)::bigint, "
    "(extract(epoch FROM recorded_at) * 1000000)::bigint";
event_envelope decode_event(pqxx::row const& row);

/// A PostgreSQL text[] literal ({"a","b\"c"}) for passing a list as one parameter.
std::string text_array(std::vector<std::string> const& items);

/// 'text' with control characters escaped, for error messages about hostile ids.
std::string quoted(std::string const& text);

}  // namespace es::postgres::detail
