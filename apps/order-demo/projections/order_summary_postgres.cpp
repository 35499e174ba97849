#include "order_summary_postgres.hpp"

#include <es/error.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <optional>

namespace orders {

order_summary_postgres::order_summary_postgres(std::shared_ptr<es::postgres::database> db,
                                               es::event_registry const& registry, std::string schema,
                                               es::event_store& store)
    : db_(std::move(db)), registry_(registry), store_(store)
{
    es::postgres::validate_schema_name(schema);  // identifiers cannot be parameters: only plain names
    schema_ = "\"" + schema + "\"";
    table_ = schema_ + ".order_summary";
}

es::awaitable<void> order_summary_postgres::migrate()
{
    co_await db_->run("create the order_summary read model", [this](pqxx::connection& c) {
        pqxx::work tx(c);
        // Serialise concurrent start-ups: CREATE ... IF NOT EXISTS can still race on the catalog.
        tx.exec_params("SELECT pg_advisory_xact_lock(hashtext($1))", table_);
        tx.exec("CREATE SCHEMA IF NOT EXISTS " + schema_);
        tx.exec("CREATE TABLE IF NOT EXISTS " + table_ + R"sql( (
                id              text PRIMARY KEY,
                customer_id     text NOT NULL,
                status          text NOT NULL,
                total           double precision NOT NULL,
                line_count      integer NOT NULL,
                tracking_number text NOT NULL DEFAULT '',
                version         bigint NOT NULL,
                global_position bigint NOT NULL,
                updated_at      timestamptz NOT NULL
            ))sql");
        tx.exec("CREATE INDEX IF NOT EXISTS order_summary_by_customer ON " + table_ + " (customer_id)");
        tx.exec("CREATE INDEX IF NOT EXISTS order_summary_by_position ON " + table_ + " (global_position)");
        tx.commit();
    });
}

namespace {
// Whether a failure is the database being away (restart, dropped connection, overload) rather
// than something wrong with the event.
bool transient(es::error const& e)
{
    return e.code() == es::make_error_code(es::errc::not_connected) || e.code() == es::make_error_code(es::errc::timed_out);
}
}  // namespace

es::awaitable<void> order_summary_postgres::handle(es::event_envelope const& e)
{
    // A failed delivery counts towards the bus' max_retries, after which the event is
    // dead-lettered: right for a poisonous event, wrong for a database that is restarting. So
    // transient failures are retried here, with backoff, for up to a minute.
    auto const give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    auto wait = std::chrono::milliseconds(50);
    for (;;) {
        std::optional<es::error> failure;
        try {
            co_await handle_once(e);
            co_return;
        } catch (es::error const& ex) {
            if (!transient(ex) || std::chrono::steady_clock::now() > give_up)
                throw;
            failure = ex;
        }
        es::asio::steady_timer timer(co_await es::asio::this_coro::executor, wait);
        co_await timer.async_wait(es::asio::use_awaitable);
        wait = std::min(wait * 2, std::chrono::milliseconds(2000));
    }
}

es::awaitable<void> order_summary_postgres::handle_once(es::event_envelope const& e)
{
    // Decode first: an undecodable event throws and the bus dead-letters it.
    registry_.decode<order_event>(e);
    auto const current = co_await db_->run("read the version of order " + e.aggregate_id, [&](pqxx::connection& c) {
        pqxx::read_transaction tx(c);
        auto row = tx.exec_params("SELECT version FROM " + table_ + " WHERE id = $1", e.aggregate_id);
        return row.empty() ? std::uint64_t{0} : row[0][0].as<std::uint64_t>();
    });
    if (e.stream_version <= current) {
        ++skipped_;
        co_return;
    }
    std::vector<es::event_envelope> batch;
    if (e.stream_version > current + 1) {
        // Arrived early: take the missing events from the store, which has them all in order.
        es::read_stream_options missing;
        missing.from_version = current + 1;
        missing.max_count = e.stream_version - current - 1;
        batch = co_await store_.read_stream(e.stream_id, missing);
        filled_ += batch.size();
    }
    batch.push_back(e);
    std::vector<order_event> decoded;
    decoded.reserve(batch.size());
    for (auto const& env : batch)
        decoded.push_back(registry_.decode<order_event>(env));

    auto applied = co_await db_->run("apply " + e.event_type + " to order_summary", [&](pqxx::connection& c) {
        pqxx::work tx(c);
        // The row lock makes concurrent handlers of one order take turns; the version decides.
        auto row = tx.exec_params("SELECT version FROM " + table_ + " WHERE id = $1 FOR UPDATE", e.aggregate_id);
        std::uint64_t version = row.empty() ? 0 : row[0][0].as<std::uint64_t>();
        std::size_t count = 0;
        for (std::size_t i = 0; i < batch.size(); ++i) {
            auto const& env = batch[i];
            if (env.stream_version <= version)
                continue;  // applied meanwhile by someone else
            if (env.stream_version != version + 1)
                throw es::error(es::errc::wrong_expected_version,
                                "order_summary: order " + e.aggregate_id + " is at version " + std::to_string(version) +
                                    " and the store has no event #" + std::to_string(version + 1) + " before #" +
                                    std::to_string(env.stream_version));
            apply_one(tx, env, decoded[i]);
            version = env.stream_version;
            ++count;
        }
        tx.commit();
        return count;
    });
    if (applied == 0)
        ++skipped_;
    else
        applied_ += applied;
}

void order_summary_postgres::apply_one(pqxx::transaction_base& tx, es::event_envelope const& e, order_event const& event)
{
    auto const when = es::format_timestamp(e.recorded_at);
    std::visit(
        [&](auto const& ev) {
            using E = std::decay_t<decltype(ev)>;
            if constexpr (std::is_same_v<E, order_placed>) {
                double total = 0;
                for (auto const& l : ev.lines)
                    total += static_cast<double>(l.quantity) * l.unit_price;
                tx.exec_params("INSERT INTO " + table_ + " (id, customer_id, status, total, line_count, "
                               "version, global_position, updated_at) VALUES ($1, $2, 'placed', $3, $4, $5, $6, $7)",
                               e.aggregate_id, ev.customer_id, total, static_cast<int>(ev.lines.size()),
                               e.stream_version, e.global_position, when);
            } else {
                std::string status = std::is_same_v<E, order_paid>      ? "paid"
                                     : std::is_same_v<E, order_shipped> ? "shipped"
                                                                        : "cancelled";
                std::string tracking;
                if constexpr (std::is_same_v<E, order_shipped>)
                    tracking = ev.tracking_number;
                tx.exec_params("UPDATE " + table_ + " SET status = $2, "
                               "tracking_number = CASE WHEN $3 = '' THEN tracking_number ELSE $3 END, "
                               "version = $4, global_position = $5, updated_at = $6 WHERE id = $1",
                               e.aggregate_id, status, tracking, e.stream_version, e.global_position, when);
            }
        },
        event);
}

es::awaitable<std::vector<order_summary>> order_summary_postgres::list(std::string status, std::string customer,
                                                                      std::size_t limit)
{
    co_return co_await db_->run("list order_summary", [&](pqxx::connection& c) {
        pqxx::read_transaction tx(c);
        auto rows = tx.exec_params(
            "SELECT id, customer_id, status, total, line_count, tracking_number, version, global_position, "
            "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
            "FROM " + table_ + " WHERE ($1 = '' OR status = $1) AND ($2 = '' OR customer_id = $2) "
            "ORDER BY global_position DESC LIMIT $3",
            status, customer, static_cast<long long>(limit));
        std::vector<order_summary> out;
        out.reserve(rows.size());
        for (auto const& r : rows) {
            order_summary s;
            s.id = r[0].as<std::string>();
            s.customer_id = r[1].as<std::string>();
            s.status = r[2].as<std::string>();
            s.total = r[3].as<double>();
            s.line_count = r[4].as<std::size_t>();
            s.tracking_number = r[5].as<std::string>();
            s.version = r[6].as<std::uint64_t>();
            s.global_position = r[7].as<std::uint64_t>();
            s.updated_at = es::parse_timestamp(r[8].as<std::string>()).value();
            out.push_back(std::move(s));
        }
        return out;
    });
}

es::awaitable<std::size_t> order_summary_postgres::count()
{
    co_return co_await db_->run("count order_summary", [this](pqxx::connection& c) {
        pqxx::read_transaction tx(c);
        return tx.exec("SELECT count(*) FROM " + table_)[0][0].as<std::size_t>();
    });
}

}  // namespace orders
