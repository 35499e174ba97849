#include "detail.hpp"

#include <es/postgres/snapshot_store.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <pqxx/pqxx>

namespace es::postgres {

snapshot_store::snapshot_store(std::shared_ptr<database> db) : db_(std::move(db)) {}

awaitable<void> snapshot_store::save(snapshot s)
{
    std::string const state = boost::json::serialize(s.state);
    co_await db_->run("save the snapshot of stream " + detail::quoted(s.stream_id), [&](pqxx::connection& conn) {
        pqxx::nontransaction tx(conn);
        tx.exec_prepared("es_snapshot_save", s.stream_id, s.aggregate_type, static_cast<long long>(s.stream_version),
                         static_cast<long long>(s.schema_version), state,
                         static_cast<long long>(s.taken_at.time_since_epoch().count()));
    });
}

awaitable<std::optional<snapshot>> snapshot_store::load(std::string stream_id)
{
    co_return co_await db_->run("load the snapshot of stream " + detail::quoted(stream_id), [&](pqxx::connection& conn) {
        pqxx::nontransaction tx(conn);
        auto rows = tx.exec_prepared("es_snapshot_load", stream_id);
        if (rows.empty())
            return std::optional<snapshot>();
        auto const& r = rows[0];
        snapshot s;
        s.stream_id = r[0].as<std::string>();
        s.aggregate_type = r[1].as<std::string>();
        s.stream_version = static_cast<std::uint64_t>(r[2].as<long long>());
        s.schema_version = static_cast<std::uint32_t>(r[3].as<long long>());
        s.state = boost::json::parse(std::string_view(r[4].c_str(), r[4].size()));
        s.taken_at = timestamp(std::chrono::microseconds(r[5].as<long long>()));
        return std::optional<snapshot>(std::move(s));
    });
}

awaitable<void> snapshot_store::remove(std::string stream_id)
{
    co_await db_->run("remove the snapshot of stream " + detail::quoted(stream_id), [&](pqxx::connection& conn) {
        pqxx::nontransaction tx(conn);
        tx.exec_prepared("es_snapshot_remove", stream_id);
    });
}

}  // namespace es::postgres
