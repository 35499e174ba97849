// The connection pool: libpqxx connections on an asio::thread_pool, one thread per connection.
#include "detail.hpp"

#include <es/error.hpp>
#include <es/log.hpp>
#include <es/postgres/database.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/this_coro.hpp>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace es::postgres {

void validate_schema_name(std::string const& schema)
{
    // Identifiers cannot be parameters: the schema is spliced into SQL text, so only plain
    // lower-case identifiers are accepted (and they are quoted as well).
    bool ok = !schema.empty() && schema.size() <= 63 && (std::islower(static_cast<unsigned char>(schema[0])) || schema[0] == '_');
    for (char c : schema)
        ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
    if (!ok)
        throw error(errc::invalid_argument, "PostgreSQL schema name " + detail::quoted(schema) +
                                                " is not a lower-case identifier ([a-z_][a-z0-9_]*, at most 63 characters)");
}

namespace {

// Host, port and database of a conninfo string or URL, for messages. Never the password.
std::string describe_server(std::string const& conninfo)
{
    std::string host, port, db;
    if (conninfo.rfind("postgres://", 0) == 0 || conninfo.rfind("postgresql://", 0) == 0) {
        auto rest = conninfo.substr(conninfo.find("://") + 3);
        if (auto at = rest.find('@'); at != std::string::npos && at < rest.find('/'))
            rest = rest.substr(at + 1);
        auto slash = rest.find('/');
        auto hostport = rest.substr(0, slash);
        if (slash != std::string::npos)
            db = rest.substr(slash + 1, rest.find('?', slash) - slash - 1);
        auto colon = hostport.rfind(':');
        host = hostport.substr(0, colon);
        if (colon != std::string::npos)
            port = hostport.substr(colon + 1);
    } else {
        std::size_t i = 0;
        while (i < conninfo.size()) {
            while (i < conninfo.size() && conninfo[i] == ' ')
                ++i;
            auto eq = conninfo.find('=', i);
            if (eq == std::string::npos)
                break;
            auto key = conninfo.substr(i, eq - i);
            auto end = conninfo.find(' ', eq);
            auto value = conninfo.substr(eq + 1, end == std::string::npos ? std::string::npos : end - eq - 1);
            if (key == "host" || key == "hostaddr")
                host = value;
            else if (key == "port")
                port = value;
            else if (key == "dbname")
                db = value;
            i = end == std::string::npos ? conninfo.size() : end + 1;
        }
    }
    auto env = [](char const* name) {
        char const* v = std::getenv(name);
        return std::string(v ? v : "");
    };
    if (host.empty())
        host = env("PGHOST").empty() ? "localhost" : env("PGHOST");
    if (port.empty())
        port = env("PGPORT").empty() ? "5432" : env("PGPORT");
    if (db.empty())
        db = env("PGDATABASE");
    return "PostgreSQL at " + host + ":" + port + (db.empty() ? "" : "/" + db);
}

}  // namespace

namespace detail {

awaitable<void> run_on(asio::thread_pool& pool, std::function<void()> fn)
{
    std::exception_ptr failure;
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [&pool, &fn, &failure](auto handler) {
            // The guard keeps the caller's executor busy and is where the caller resumes.
            auto work = asio::make_work_guard(handler);
            asio::post(pool, [&fn, &failure, handler = std::move(handler), work = std::move(work)]() mutable {
                try {
                    fn();
                } catch (...) {
                    failure = std::current_exception();
                }
                // Only untracked executors may die on this thread: once the caller resumes, its
                // io_context may finish and be destroyed. The guard itself ends on the caller's side.
                // post() itself still touches that io_context after queueing the completion (it
                // signals the scheduler's condition variable), so the completion waits until this
                // thread has left post() before it resumes the caller (TSan found the caller
                // destroying the io_context while this thread was still in pthread_cond_signal).
                auto ex = asio::prefer(work.get_executor(), asio::execution::outstanding_work.untracked);
                auto posted = std::make_shared<std::atomic<bool>>(false);
                asio::post(ex, [handler = std::move(handler), work = std::move(work), posted]() mutable {
                    while (!posted->load(std::memory_order_acquire))
                        std::this_thread::yield();
                    std::move(handler)();
                });
                posted->store(true, std::memory_order_release);
            });
        },
        asio::use_awaitable);
    if (failure)
        std::rethrow_exception(failure);
}

}  // namespace detail

struct database::impl {
    explicit impl(config c)
        : cfg(std::move(c)), server(describe_server(cfg.conninfo)), quoted("\"" + cfg.schema + "\""),
          channel(cfg.notify_channel.empty() ? cfg.schema + "_events" : cfg.notify_channel),
          statements(detail::statements(quoted)), log(logger("es.postgres")),
          threads(cfg.pool_size == 0 ? 1 : cfg.pool_size)
    {
    }

    std::unique_ptr<pqxx::connection> connect()
    {
        auto conn = std::make_unique<pqxx::connection>(cfg.conninfo);
        {
            pqxx::nontransaction tx(*conn);
            tx.exec("SET application_name = 'eventsource-cpp'");
            if (cfg.statement_timeout.count() > 0)
                tx.exec("SET statement_timeout = " + std::to_string(cfg.statement_timeout.count()));
        }
        for (auto const& [name, sql] : statements)
            conn->prepare(name, sql);
        log->debug("connected to {}", server);
        return conn;
    }

    void ensure_schema(pqxx::connection& conn)
    {
        if (schema_ready.load())
            return;
        std::lock_guard lock(schema_mutex);
        if (schema_ready.load())
            return;
        // The schema is spliced into SQL as `quoted`; libpq's own quoting must agree with it
        // (it does for every name validate_schema_name accepts; this guards the validation).
        if (conn.quote_name(cfg.schema) != quoted)
            throw error(errc::invalid_argument, "PostgreSQL schema name " + detail::quoted(cfg.schema) +
                                                    " quotes differently on " + server + " than expected");
        if (cfg.migrate) {
            detail::migrate(conn, cfg.schema, quoted, server);
        } else {
            int const v = detail::recorded_schema_version(conn, cfg.schema, quoted);
            if (v != schema_version)
                throw error(errc::invalid_argument, "schema '" + cfg.schema + "' on " + server + " is at version " +
                                                        std::to_string(v) + ", this library needs " +
                                                        std::to_string(schema_version) + " (migrations are off)");
        }
        schema_ready = true;
    }

    // Runs on a database thread. Rethrows libpqxx errors as es::error naming `what` and the server.
    void execute(std::string const& what, std::function<void(pqxx::connection&)> const& fn)
    {
        std::unique_ptr<pqxx::connection> conn;
        {
            std::lock_guard lock(mutex);
            if (!idle.empty()) {
                conn = std::move(idle.back());
                idle.pop_back();
            }
        }
        std::exception_ptr failure;
        try {
            if (!conn)
                conn = connect();
            ensure_schema(*conn);
            fn(*conn);
        } catch (...) {
            failure = std::current_exception();
        }
        bool usable = conn && conn->is_open();
        if (failure && usable) {
            // A statement cancelled inside append's critical section could leave the session-level
            // position lock held; releasing all of this session's advisory locks is always safe.
            try {
                pqxx::nontransaction tx(*conn);
                tx.exec("SELECT pg_advisory_unlock_all()");
            } catch (...) {
                usable = false;
            }
        }
        if (usable) {
            std::lock_guard lock(mutex);
            idle.push_back(std::move(conn));
        } else if (conn) {
            log->warn("{}: dropping a broken connection; the next call opens a new one", server);
        }
        if (failure)
            rethrow(failure, what);
    }

    [[noreturn]] void rethrow(std::exception_ptr failure, std::string const& what)
    {
        try {
            std::rethrow_exception(failure);
        } catch (es::error const&) {
            throw;
        } catch (pqxx::in_doubt_error const& e) {
            throw error(errc::not_connected, what + ": lost the connection to " + server +
                                                 " while committing; the outcome is unknown (" + first_line(e.what()) + ")");
        } catch (pqxx::broken_connection const& e) {
            throw error(errc::not_connected, what + ": no connection to " + server + " (" + first_line(e.what()) +
                                                 "); the connection is replaced on the next call");
        } catch (pqxx::sql_error const& e) {
            auto const state = e.sqlstate();
            auto const message = what + " on " + server + " failed: " + first_line(e.what()) +
                                 (state.empty() ? "" : " (SQLSTATE " + state + ")");
            if (state == "57014")
                throw error(errc::timed_out, message);
            if (state.rfind("57P", 0) == 0 || state.rfind("08", 0) == 0)
                throw error(errc::not_connected, message);
            // 22xxx: data exceptions (invalid UTF-8, \u0000 in jsonb, bad values); 54xxx: too large.
            if (state.rfind("22", 0) == 0 || state.rfind("54", 0) == 0)
                throw error(errc::invalid_argument, message);
            throw error(boost::system::errc::make_error_code(boost::system::errc::io_error), message);
        } catch (pqxx::failure const& e) {
            throw error(errc::not_connected, what + " on " + server + " failed: " + first_line(e.what()));
        }
    }

    static std::string first_line(std::string const& text)
    {
        auto s = text;
        if (s.rfind("ERROR:  ", 0) == 0)
            s = s.substr(8);
        auto nl = s.find('\n');
        return nl == std::string::npos ? s : s.substr(0, nl);
    }

    config cfg;
    std::string server;
    std::string quoted;
    std::string channel;
    std::vector<std::pair<std::string, std::string>> statements;
    std::shared_ptr<spdlog::logger> log;
    std::mutex mutex;
    std::vector<std::unique_ptr<pqxx::connection>> idle;
    std::mutex schema_mutex;
    std::atomic<bool> schema_ready{false};
    std::atomic<bool> notify_pending{false};
    // Last member: destroyed (stopped and joined) first, while everything above still exists.
    asio::thread_pool threads;
};

std::shared_ptr<database> database::create(config cfg)
{
    validate_schema_name(cfg.schema);
    return std::shared_ptr<database>(new database(std::move(cfg)));
}

database::database(config cfg) : impl_(std::make_unique<impl>(std::move(cfg))) {}

database::~database()
{
    impl_->threads.stop();
    impl_->threads.join();
}

config const& database::settings() const noexcept { return impl_->cfg; }
std::string const& database::server() const noexcept { return impl_->server; }
std::string const& database::quoted_schema() const noexcept { return impl_->quoted; }
std::string const& database::notify_channel() const noexcept { return impl_->channel; }

awaitable<void> database::run_erased(std::string what, std::function<void(pqxx::connection&)> fn)
{
    auto* state = impl_.get();
    std::function<void()> job = [state, &what, &fn] { state->execute(what, fn); };
    co_await detail::run_on(state->threads, std::move(job));
}

awaitable<void> database::migrate()
{
    // The first connection migrates (ensure_schema); a no-op call is enough to trigger it.
    co_await run("migrating schema '" + impl_->cfg.schema + "'", [](pqxx::connection&) {});
}

awaitable<int> database::current_schema_version()
{
    auto* state = impl_.get();
    std::string what = "reading the schema version of '" + state->cfg.schema + "'";
    std::function<void(pqxx::connection&)> fn;
    int version = 0;
    fn = [&](pqxx::connection& conn) { version = detail::recorded_schema_version(conn, state->cfg.schema, state->quoted); };
    // Without ensure_schema: this must also work on a schema the library cannot use.
    std::function<void()> job = [state, &what, &fn] {
        try {
            auto conn = state->connect();
            fn(*conn);
        } catch (...) {
            state->rethrow(std::current_exception(), what);
        }
    };
    co_await detail::run_on(state->threads, std::move(job));
    co_return version;
}

void database::notify_appended()
{
    if (!impl_->cfg.notify || impl_->notify_pending.exchange(true))
        return;
    // Outside the append transaction on purpose: a NOTIFY inside it would take PostgreSQL's
    // notify-queue lock until commit and serialise every appender's commit. Debounced: one
    // NOTIFY per notify_interval at most, sent at its end.
    auto* state = impl_.get();
    auto timer = std::make_shared<asio::steady_timer>(state->threads, state->cfg.notify_interval);
    timer->async_wait([state, timer](boost::system::error_code ec) {
        if (ec)
            return;
        state->notify_pending = false;
        try {
            state->execute("NOTIFY " + state->channel, [state](pqxx::connection& conn) {
                pqxx::nontransaction tx(conn);
                tx.exec_prepared("es_notify", state->channel);
            });
        } catch (std::exception const& e) {
            state->log->debug("{}", e.what());  // subscriptions fall back to polling
        }
    });
}

}  // namespace es::postgres
