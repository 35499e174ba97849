#include <es/redis/bus/processed_event_store.hpp>

#include <es/error.hpp>
#include <es/redis/client/request.hpp>

namespace es::redis {

processed_event_store::processed_event_store(std::shared_ptr<connection> conn, std::string prefix, std::chrono::seconds ttl)
    : conn_(std::move(conn)), prefix_(std::move(prefix)), ttl_(ttl)
{
    if (ttl_.count() <= 0)
        throw es::error(es::errc::invalid_argument, "processed_event_store: the ttl must be positive");
}

std::string processed_event_store::key(std::string const& consumer, boost::uuids::uuid const& event_id) const
{
    return prefix_ + ":processed:" + consumer + ":" + to_string(event_id);
}

awaitable<bool> processed_event_store::contains(std::string consumer, boost::uuids::uuid event_id)
{
    request req;
    req.push("EXISTS", key(consumer, event_id));
    req.idempotent = true;
    auto r = co_await conn_->call(req);
    co_return r.is_integer() && r.integer == 1;
}

awaitable<void> processed_event_store::remember(std::string consumer, boost::uuids::uuid event_id)
{
    request req;
    req.push("SET", key(consumer, event_id), "1", "EX", std::to_string(ttl_.count()));
    req.idempotent = true;
    co_await conn_->call(req);
}

}  // namespace es::redis
