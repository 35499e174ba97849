#pragma once
// Consumer idempotency records in PostgreSQL (table <schema>.processed_events).
//
// For exactly-once effects, record the event in the same transaction as the handler's effect:
//
//   postgres::transactional_handler h = [schema](pqxx::transaction_base& tx, event_envelope const& e) {
//       if (!postgres::mark_processed(tx, schema, "billing", e.event_id))
//           return;  // already done: its effect committed together with the mark
//       tx.exec_params("UPDATE ...");
//   };
//
// A crash before commit loses both the mark and the effect (the event is processed again); a
// crash after commit keeps both (redelivery is skipped). processed_event_store implements
// es::processed_event_store for es::idempotent_handler, whose record is written after the
// handler: at-least-once with duplicates removed, not exactly-once.
#include <es/idempotency.hpp>
#include <es/postgres/database.hpp>

#include <pqxx/transaction_base>

#include <boost/uuid/uuid.hpp>

#include <memory>
#include <string>

namespace es::postgres {

/// Records that `consumer` processed `event_id` inside the caller's transaction `tx`. Returns
/// false (and writes nothing) when it was recorded already, by a committed transaction or by a
/// concurrent one that then commits (PostgreSQL makes this call wait for it). `schema` is the
/// database's schema name (config::schema, unquoted); works on any connection to the database,
/// pooled or not. Blocking: call it on a database thread (database::run, a transactional_handler).
bool mark_processed(pqxx::transaction_base& tx, std::string const& schema, std::string const& consumer,
                    boost::uuids::uuid const& event_id);

/// Whether `consumer` processed `event_id`, as seen by `tx`.
bool is_processed(pqxx::transaction_base& tx, std::string const& schema, std::string const& consumer,
                  boost::uuids::uuid const& event_id);

class processed_event_store final : public es::processed_event_store {
public:
    explicit processed_event_store(std::shared_ptr<database> db);

    awaitable<bool> contains(std::string consumer, boost::uuids::uuid event_id) override;
    awaitable<void> remember(std::string consumer, boost::uuids::uuid event_id) override;
    /// In one transaction: processed? then the claim (table <schema>.event_claims), then processed
    /// again (a delivery that finished in between has marked before it released).
    awaitable<claim_outcome> claim(std::string consumer, boost::uuids::uuid event_id,
                                   std::chrono::milliseconds lease) override;
    awaitable<void> release(std::string consumer, boost::uuids::uuid event_id) override;
    /// Deletes the records of `consumer` older than `age`; returns how many.
    awaitable<std::uint64_t> forget_older_than(std::string consumer, std::chrono::seconds age);

private:
    std::shared_ptr<database> db_;
};

}  // namespace es::postgres
