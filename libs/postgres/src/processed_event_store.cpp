#include "detail.hpp"

#include <es/postgres/processed_event_store.hpp>

#include <boost/uuid/uuid_io.hpp>
#include <pqxx/pqxx>

namespace es::postgres {
namespace {

// Not the prepared statements: tx may be on a connection of the caller's own.
std::string table_of(pqxx::transaction_base& tx, std::string const& schema)
{
    validate_schema_name(schema);
    return tx.quote_name(schema) + ".processed_events";
}

}  // namespace

bool mark_processed(pqxx::transaction_base& tx, std::string const& schema, std::string const& consumer,
                    boost::uuids::uuid const& event_id)
{
    auto rows = tx.exec_params("INSERT INTO " + table_of(tx, schema) +
                                   " (consumer, event_id) VALUES ($1, $2::uuid) ON CONFLICT DO NOTHING RETURNING 1",
                               consumer, to_string(event_id));
    return !rows.empty();
}

bool is_processed(pqxx::transaction_base& tx, std::string const& schema, std::string const& consumer,
                  boost::uuids::uuid const& event_id)
{
    return !tx.exec_params("SELECT 1 FROM " + table_of(tx, schema) + " WHERE consumer = $1 AND event_id = $2::uuid",
                           consumer, to_string(event_id))
                .empty();
}

processed_event_store::processed_event_store(std::shared_ptr<database> db) : db_(std::move(db)) {}

awaitable<bool> processed_event_store::contains(std::string consumer, boost::uuids::uuid event_id)
{
    co_return co_await db_->run("check processed event " + to_string(event_id) + " of consumer " + detail::quoted(consumer),
                                [&](pqxx::connection& conn) {
                                    pqxx::nontransaction tx(conn);
                                    return !tx.exec_prepared("es_is_processed", consumer, to_string(event_id)).empty();
                                });
}

awaitable<void> processed_event_store::remember(std::string consumer, boost::uuids::uuid event_id)
{
    // The mark commits with the claim's release: a claimer sees one or the other.
    co_await db_->run("record processed event " + to_string(event_id) + " of consumer " + detail::quoted(consumer),
                      [&](pqxx::connection& conn) {
                          pqxx::work tx(conn);
                          tx.exec_prepared("es_mark_processed", consumer, to_string(event_id));
                          tx.exec_prepared("es_release_claim", consumer, to_string(event_id));
                          tx.commit();
                      });
}

awaitable<claim_outcome> processed_event_store::claim(std::string consumer, boost::uuids::uuid event_id,
                                                      std::chrono::milliseconds lease)
{
    auto const seconds = static_cast<double>(std::max<long long>(lease.count(), 1)) / 1000.0;
    co_return co_await db_->run(
        "claim event " + to_string(event_id) + " for consumer " + detail::quoted(consumer), [&](pqxx::connection& conn) {
            pqxx::work tx(conn);
            auto const id = to_string(event_id);
            if (!tx.exec_prepared("es_is_processed", consumer, id).empty())
                return claim_outcome::already_processed;
            if (tx.exec_prepared("es_claim_event", consumer, id, seconds).empty())
                return claim_outcome::in_progress;
            // The claim may have waited for a delivery that was just recording the event as
            // processed (and deleting its claim): this statement sees that commit.
            if (!tx.exec_prepared("es_is_processed", consumer, id).empty())
                return claim_outcome::already_processed;  // rolled back: no claim left behind
            tx.commit();
            return claim_outcome::claimed;
        });
}

awaitable<void> processed_event_store::release(std::string consumer, boost::uuids::uuid event_id)
{
    co_await db_->run("release the claim of event " + to_string(event_id) + " for consumer " + detail::quoted(consumer),
                      [&](pqxx::connection& conn) {
                          pqxx::nontransaction tx(conn);
                          tx.exec_prepared("es_release_claim", consumer, to_string(event_id));
                      });
}

awaitable<std::uint64_t> processed_event_store::forget_older_than(std::string consumer, std::chrono::seconds age)
{
    auto const seconds = static_cast<long long>(age.count());
    co_return co_await db_->run("forget processed events of consumer " + detail::quoted(consumer),
                                [&](pqxx::connection& conn) {
                                    pqxx::nontransaction tx(conn);
                                    auto r = tx.exec_params("DELETE FROM " + db_->quoted_schema() +
                                                                ".processed_events WHERE consumer = $1 AND processed_at < "
                                                                "now() - make_interval(secs => $2)",
                                                            consumer, seconds);
                                    return static_cast<std::uint64_t>(r.affected_rows());
                                });
}

}  // namespace es::postgres
