#pragma once
// The order-summary read model in PostgreSQL (table <views schema>.order_summary), shared by every
// replica: API replicas answer GET /orders from it, and it survives a projector restart.
//
// Exactly-once effect on an at-least-once bus: each event is applied in one transaction that
// locks the order's row and checks its version. An event at or below the row's version is a
// duplicate and changes nothing. An event beyond the next version arrived early (a consumer died
// holding its predecessor, or a competing consumer has it): the projection reads the missing
// events from the event store and applies them first, so order never depends on delivery order
// and nothing waits for a redelivery.
#include "order_summary.hpp"

#include <es/event_store.hpp>
#include <es/postgres/database.hpp>

#include <pqxx/transaction_base>

#include <atomic>
#include <memory>

namespace orders {

class order_summary_postgres final : public order_summary_view {
public:
    /// `schema` must be a valid schema name (it is checked like the store's own).
    order_summary_postgres(std::shared_ptr<es::postgres::database> db, es::event_registry const& registry,
                           std::string schema, es::event_store& store);

    /// Creates the schema and table if they are missing (idempotent, safe to race).
    es::awaitable<void> migrate();

    es::awaitable<void> handle(es::event_envelope const& e) override;
    es::awaitable<std::vector<order_summary>> list(std::string status, std::string customer, std::size_t limit) override;
    es::awaitable<std::size_t> count() override;
    std::uint64_t events_applied() const override { return applied_.load(); }
    std::uint64_t duplicates_skipped() const override { return skipped_.load(); }

private:
    es::awaitable<void> handle_once(es::event_envelope const& e);
    void apply_one(pqxx::transaction_base& tx, es::event_envelope const& e, order_event const& event);

    std::shared_ptr<es::postgres::database> db_;
    es::event_registry const& registry_;
    es::event_store& store_;
    std::string table_;  // quoted "schema".order_summary
    std::string schema_;
    std::atomic<std::uint64_t> applied_{0};
    std::atomic<std::uint64_t> skipped_{0};
    std::atomic<std::uint64_t> filled_{0};  // events read from the store to fill a gap

public:
    std::uint64_t gaps_filled() const noexcept { return filled_.load(); }
};

}  // namespace orders
