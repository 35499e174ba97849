#pragma once
// Snapshots in PostgreSQL: one row per stream, the newest wins.
#include <es/postgres/database.hpp>
#include <es/snapshot_store.hpp>

#include <memory>

namespace es::postgres {

class snapshot_store final : public es::snapshot_store {
public:
    explicit snapshot_store(std::shared_ptr<database> db);

    /// Keeps `s` unless a snapshot at a higher stream version is already stored (atomic upsert).
    awaitable<void> save(snapshot s) override;
    awaitable<std::optional<snapshot>> load(std::string stream_id) override;
    awaitable<void> remove(std::string stream_id) override;

private:
    std::shared_ptr<database> db_;
};

}  // namespace es::postgres
