#pragma once
// A PostgreSQL database as the backend sees it: a schema, a pool of libpqxx connections and the
// threads that run the blocking calls. Shared by the event store, the snapshot and checkpoint
// stores and the subscriptions.
#include <es/asio.hpp>
#include <es/postgres/config.hpp>

#include <pqxx/connection>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>


namespace es::postgres {

/// The schema version this library creates and understands.
inline constexpr int schema_version = 4;

/// Throws es::error(invalid_argument) unless `schema` is a plain lower-case identifier.
void validate_schema_name(std::string const& schema);

class database : public std::enable_shared_from_this<database> {
public:
    /// Does not connect: connections are opened (and the schema migrated) on first use.
    /// Throws es::error(invalid_argument) for a bad schema name.
    static std::shared_ptr<database> create(config cfg);
    ~database();
    database(database const&) = delete;
    database& operator=(database const&) = delete;

    config const& settings() const noexcept;
    /// "PostgreSQL at 127.0.0.1:5432/app": how error messages name the server (never a password).
    std::string const& server() const noexcept;
    /// The schema, quoted for use in SQL text ("es" -> "\"es\"").
    std::string const& quoted_schema() const noexcept;
    std::string const& notify_channel() const noexcept;

    /// Runs the migrations now instead of on first use. Throws es::error naming the schema when
    /// the database holds a newer schema version than this library knows.
    awaitable<void> migrate();
    /// The schema version recorded in the database (0 when not created yet).
    awaitable<int> current_schema_version();

    /// Runs fn(connection&) on a database thread with a leased connection and resumes the caller
    /// on its own executor. libpqxx exceptions become es::error: not_connected (the connection
    /// is then replaced), timed_out (statement timeout), invalid_argument (input PostgreSQL
    /// rejects, such as invalid UTF-8). `what` names the operation in those messages. fn must
    /// be copyable (it travels in a std::function); capturing by reference is fine, the caller
    /// stays suspended until fn has run.
    template <class Fn>
    awaitable<std::invoke_result_t<Fn&, pqxx::connection&>> run(std::string what, Fn fn)
    {
        using result_type = std::invoke_result_t<Fn&, pqxx::connection&>;
        if constexpr (std::is_void_v<result_type>) {
            std::function<void(pqxx::connection&)> erased(std::move(fn));
            co_await run_erased(std::move(what), std::move(erased));
        } else {
            std::optional<result_type> out;
            std::function<void(pqxx::connection&)> erased = [&out, &fn](pqxx::connection& c) { out.emplace(fn(c)); };
            co_await run_erased(std::move(what), std::move(erased));
            co_return std::move(*out);
        }
    }

    /// Wakes subscriptions of other processes (and this one): a NOTIFY on notify_channel(),
    /// coalesced so that a burst of appends sends one. Never blocks the caller.
    void notify_appended();

    struct impl;

private:
    explicit database(config cfg);
    awaitable<void> run_erased(std::string what, std::function<void(pqxx::connection&)> fn);
    std::unique_ptr<impl> impl_;
};

}  // namespace es::postgres
