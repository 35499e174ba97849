#include "detail.hpp"

#include <es/postgres/checkpoint_store.hpp>

#include <pqxx/pqxx>

namespace es::postgres {

checkpoint_store::checkpoint_store(std::shared_ptr<database> db) : db_(std::move(db)) {}

awaitable<std::optional<std::uint64_t>> checkpoint_store::load(std::string name)
{
    co_return co_await db_->run("load checkpoint " + detail::quoted(name), [&](pqxx::connection& conn) {
        pqxx::nontransaction tx(conn);
        auto rows = tx.exec_prepared("es_checkpoint_load", name);
        return rows.empty() ? std::optional<std::uint64_t>()
                            : std::optional<std::uint64_t>(static_cast<std::uint64_t>(rows[0][0].as<long long>()));
    });
}

awaitable<void> checkpoint_store::save(std::string name, std::uint64_t position)
{
    co_await db_->run("save checkpoint " + detail::quoted(name), [&](pqxx::connection& conn) {
        pqxx::nontransaction tx(conn);
        tx.exec_prepared("es_checkpoint_save", name, static_cast<long long>(position));
    });
}

void checkpoint_store::save(pqxx::transaction_base& tx, std::string const& name, std::uint64_t position)
{
    tx.exec_prepared("es_checkpoint_save", name, static_cast<long long>(position));
}

}  // namespace es::postgres
