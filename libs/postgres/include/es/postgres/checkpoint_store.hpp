#pragma once
// Checkpoints in PostgreSQL: name -> last global position a reader finished.
#include <es/checkpoint_store.hpp>
#include <es/postgres/database.hpp>

#include <pqxx/transaction_base>

#include <memory>


namespace es::postgres {

class checkpoint_store final : public es::checkpoint_store {
public:
    explicit checkpoint_store(std::shared_ptr<database> db);

    awaitable<std::optional<std::uint64_t>> load(std::string name) override;
    awaitable<void> save(std::string name, std::uint64_t position) override;

    /// The same save inside a transaction of the caller's (a projection committing its read
    /// model and its checkpoint together). Blocking: call it on a database thread, with a
    /// transaction on a connection of this database's pool (database::run).
    static void save(pqxx::transaction_base& tx, std::string const& name, std::uint64_t position);

private:
    std::shared_ptr<database> db_;
};

}  // namespace es::postgres
