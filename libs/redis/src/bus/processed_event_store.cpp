#include <es/redis/bus/processed_event_store.hpp>

#include <es/error.hpp>
#include <es/redis/client/error.hpp>
#include <es/redis/client/request.hpp>
#include <es/redis/client/script.hpp>

namespace es::redis {

namespace {
// KEYS: processed key, claim key. ARGV: lease ms. 0 already processed, 1 claimed, 2 in progress.
script const claim_script(R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[1]) then return 1 end
return 2
)lua");
}  // namespace

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
    // The mark before the claim goes: a claimer that gets in between sees the mark.
    auto k = key(consumer, event_id);
    request req;
    req.push("SET", k, "1", "EX", std::to_string(ttl_.count())).push("DEL", k + ":claim");
    req.idempotent = true;
    auto replies = co_await conn_->exec(req);
    for (auto const& r : replies)
        throw_if_error(r, "SET/DEL " + k);
}

awaitable<claim_outcome> processed_event_store::claim(std::string consumer, boost::uuids::uuid event_id,
                                                      std::chrono::milliseconds lease)
{
    auto k = key(consumer, event_id);
    std::vector<std::string> keys{k, k + ":claim"};
    std::vector<std::string> args{std::to_string(std::max<long long>(lease.count(), 1))};
    auto r = co_await eval(*conn_, claim_script, std::move(keys), std::move(args));
    co_return r.integer == 0 ? claim_outcome::already_processed
                             : r.integer == 1 ? claim_outcome::claimed : claim_outcome::in_progress;
}

awaitable<void> processed_event_store::release(std::string consumer, boost::uuids::uuid event_id)
{
    request req;
    req.push("DEL", key(consumer, event_id) + ":claim");
    req.idempotent = true;
    co_await conn_->call(req);
}

}  // namespace es::redis
