#include <es/redis/bus/outbox_relay.hpp>

#include "stream_bus_codec.hpp"

#include <es/log.hpp>
#include <es/redis/client/error.hpp>
#include <es/redis/client/request.hpp>
#include <es/redis/client/script.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <spdlog/spdlog.h>

#include <mutex>

namespace es::redis {

namespace {

// KEYS: lease, checkpoint, stream. ARGV: token, expected checkpoint, new checkpoint, maxlen ("" =
// none), then per event: field count, then field/value pairs.
// Returns the number of entries added, -1 when the lease is not ours, -2 when the checkpoint
// moved (another relay published meanwhile).
script const publish_script(R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local current = redis.call('GET', KEYS[2]) or '0'
if current ~= ARGV[2] then return -2 end
local i = 5
local added = 0
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  local args = {KEYS[3]}
  if ARGV[4] ~= '' then
    table.insert(args, 'MAXLEN'); table.insert(args, '~'); table.insert(args, ARGV[4])
  end
  table.insert(args, '*')
  for j = i + 1, i + n do table.insert(args, ARGV[j]) end
  redis.call('XADD', unpack(args))
  added = added + 1
  i = i + n + 1
end
redis.call('SET', KEYS[2], ARGV[3])
return added
)lua");

// KEYS: lease. ARGV: token, ttl ms. 1 when renewed, 0 when the lease is not ours any more.
script const renew_script(R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
)lua");

// KEYS: lease. ARGV: token. Deletes the lease only if it is ours.
script const release_script(R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua");

}  // namespace

struct outbox_relay::state {
    event_store& source;
    stream_bus& target;
    outbox_relay_config cfg;
    std::string checkpoint_key;
    std::string lease_key;
    std::atomic<bool> stopping{false};
    mutable std::mutex mutex;  // guards stats and strand
    outbox_relay_stats stats;
    // Where run()'s loop executes while it runs. stop() may come from any thread, but the timer is
    // only touched on this strand, so stop() posts its cancel here instead of racing the loop.
    std::optional<asio::strand<asio::any_io_executor>> strand;
    // Every wait of the loop (poll interval, retry delay, lease attempts) is on this one timer, so
    // cancelling it wakes whichever wait is in progress.
    std::optional<asio::steady_timer> timer;
    bool active = false;  // holds the lease; touched on the strand only
    std::shared_ptr<spdlog::logger> log = es::logger("es.redis");

    state(event_store& s, stream_bus& t, outbox_relay_config c) : source(s), target(t), cfg(std::move(c))
    {
        if (cfg.instance_id.empty())
            cfg.instance_id = default_consumer_name();
        checkpoint_key = target.stream_name() + ":relay:" + cfg.name + ":checkpoint";
        lease_key = target.stream_name() + ":relay:" + cfg.name + ":lease";
    }

    template <class Fn>
    void update(Fn fn)
    {
        std::lock_guard lock(mutex);
        fn(stats);
    }

    // Returns early when stop() cancels the timer. Checking `stopping` and starting the wait
    // happen in one turn of the strand, and stop() sets the flag before it posts the cancel, so a
    // stop() can never fall between the check and the wait.
    awaitable<void> sleep(std::chrono::milliseconds d)
    {
        if (stopping)
            co_return;
        timer->expires_after(d);
        co_await timer->async_wait(use_nothrow);
    }

    // Called on the strand only.
    void wake()
    {
        if (timer)
            timer->cancel();
    }

    static bool cancelled(asio::cancellation_state const& cs)
    {
        return cs.cancelled() != asio::cancellation_type::none;
    }

    awaitable<bool> try_acquire()
    {
        request req;
        req.push("SET", lease_key, cfg.instance_id, "NX", "PX", std::to_string(cfg.lease_ttl.count()));
        auto r = co_await target.redis().call(req);
        co_return !r.is_nil();
    }

    awaitable<bool> renew()
    {
        std::vector<std::string> keys{lease_key};
        std::vector<std::string> args{cfg.instance_id, std::to_string(cfg.lease_ttl.count())};
        auto r = co_await eval(target.redis(), renew_script, std::move(keys), std::move(args));
        co_return r.is_integer() && r.integer == 1;
    }

    awaitable<std::uint64_t> read_checkpoint()
    {
        request req;
        req.push("GET", checkpoint_key);
        auto r = co_await target.redis().call(req);
        if (r.is_nil())
            co_return 0;
        co_return std::stoull(r.str);
    }

    // One batch: read after `checkpoint`, publish atomically. Returns the new checkpoint, or
    // nullopt when the script refused (we lost the lease or someone else published).
    awaitable<std::optional<std::uint64_t>> publish_batch(std::uint64_t checkpoint, bool& empty)
    {
        read_all_options options;
        options.after_position = checkpoint;
        options.max_count = cfg.batch_size;
        auto events = co_await source.read_all(options);
        empty = events.empty();
        if (events.empty())
            co_return checkpoint;
        auto const next = events.back().global_position;
        std::vector<std::string> args{cfg.instance_id, std::to_string(checkpoint), std::to_string(next),
                                      cfg.max_stream_length ? std::to_string(*cfg.max_stream_length) : std::string()};
        for (auto const& e : events) {
            auto fields = detail::encode_envelope(e);
            args.push_back(std::to_string(fields.size() * 2));
            for (auto& [k, v] : fields) {
                args.push_back(std::move(k));
                args.push_back(std::move(v));
            }
        }
        std::vector<std::string> keys{lease_key, checkpoint_key, target.stream_name()};
        auto r = co_await eval(target.redis(), publish_script, std::move(keys), std::move(args));
        if (!r.is_integer())
            throw error(errc::not_connected, "relay '" + cfg.name + "': unexpected reply to the publish script: " + r.describe());
        if (r.integer < 0) {
            log->warn("relay '{}' ({}): batch after position {} refused: {}", cfg.name, cfg.instance_id, checkpoint,
                      r.integer == -1 ? "the lease is not ours any more" : "the checkpoint moved");
            update([](auto& s) { ++s.fenced; });
            co_return std::nullopt;
        }
        update([&](auto& s) {
            s.published += events.size();
            ++s.batches;
            s.checkpoint = next;
        });
        co_return next;
    }

    // Runs on the strand. The timer exists only while the loop runs, so it never outlives the
    // io_context it belongs to.
    awaitable<void> start_loop()
    {
        timer.emplace(co_await asio::this_coro::executor);
        std::exception_ptr failure;
        try {
            co_await loop();
        } catch (...) {
            failure = std::current_exception();
        }
        // Once the owner cancelled run(), Asio makes every co_await throw operation_aborted: that
        // is how the loop ended, not a failure.
        auto const cs = co_await asio::this_coro::cancellation_state;
        if (cancelled(cs))
            failure = nullptr;
        // Releasing the lease lets a standby relay take over at once instead of after lease_ttl;
        // allow that one call even when the owner cancelled run().
        co_await asio::this_coro::reset_cancellation_state();
        co_await release_lease();
        timer.reset();
        if (failure)
            std::rethrow_exception(failure);
    }

    awaitable<void> release_lease()
    {
        if (!active)
            co_return;
        try {
            std::vector<std::string> keys{lease_key};
            std::vector<std::string> args{cfg.instance_id};
            co_await eval(target.redis(), release_script, std::move(keys), std::move(args));
        } catch (std::exception const& e) {
            log->warn("relay '{}': could not release the lease: {}", cfg.name, e.what());
        }
        active = false;
        update([](auto& s) { s.active = false; });
    }

    awaitable<void> loop()
    {
        std::uint64_t checkpoint = 0;
        auto last_renewal = std::chrono::steady_clock::now();
        while (!stopping) {
            auto const cs = co_await asio::this_coro::cancellation_state;
            if (cancelled(cs))
                break;
            bool failed = false;
            bool aborted = false;
            std::string why;
            try {
                if (!active) {
                    bool const acquired = co_await try_acquire();
                    if (acquired) {
                        active = true;
                        last_renewal = std::chrono::steady_clock::now();
                        checkpoint = co_await read_checkpoint();
                        update([&](auto& s) {
                            ++s.leases_acquired;
                            s.active = true;
                            s.checkpoint = checkpoint;
                        });
                        log->info("relay '{}' ({}): active, publishing after position {}", cfg.name, cfg.instance_id,
                                  checkpoint);
                    } else {
                        co_await sleep(cfg.lease_renew_interval);
                        continue;
                    }
                }
                if (std::chrono::steady_clock::now() - last_renewal >= cfg.lease_renew_interval) {
                    bool const renewed = co_await renew();
                    if (!renewed) {
                        active = false;
                        update([](auto& s) {
                            ++s.leases_lost;
                            s.active = false;
                        });
                        log->warn("relay '{}' ({}): lease lost; standing by", cfg.name, cfg.instance_id);
                        continue;
                    }
                    last_renewal = std::chrono::steady_clock::now();
                }
                bool empty = false;
                auto next = co_await publish_batch(checkpoint, empty);
                if (!next) {
                    // Fenced: re-check the lease and re-read the checkpoint before going on.
                    active = false;
                    update([](auto& s) { s.active = false; });
                    continue;
                }
                checkpoint = *next;
                if (empty)
                    co_await sleep(cfg.poll_interval);
            } catch (boost::system::system_error const& e) {
                aborted = e.code() == asio::error::operation_aborted;
                failed = true;
                why = e.what();
            } catch (std::exception const& e) {
                failed = true;
                why = e.what();
            }
            if (aborted) {
                // A cancelled run() makes every later co_await throw operation_aborted: end, no
                // retry. Otherwise (a call aborted by its connection) it is a failure like others.
                auto const cs_now = co_await asio::this_coro::cancellation_state;
                if (cancelled(cs_now) || stopping)
                    break;
            }
            if (failed) {
                update([](auto& s) { ++s.errors; });
                log->warn("relay '{}' ({}): {}; retrying", cfg.name, cfg.instance_id, why);
                co_await sleep(cfg.retry_delay);
            }
        }
    }
};

outbox_relay::outbox_relay(event_store& source, stream_bus& target, outbox_relay_config cfg)
    : state_(std::make_shared<state>(source, target, std::move(cfg)))
{
}

outbox_relay::~outbox_relay() = default;

awaitable<void> outbox_relay::run()
{
    auto s = state_;  // keeps the state alive for the whole run
    auto strand = asio::make_strand(co_await asio::this_coro::executor);
    {
        std::lock_guard lock(s->mutex);
        s->strand.emplace(strand);
    }
    // The loop runs on the strand; the owner's cancellation of run() reaches it through co_spawn.
    std::exception_ptr failure;
    try {
        co_await asio::co_spawn(strand, s->start_loop(), asio::use_awaitable);
    } catch (...) {
        failure = std::current_exception();
    }
    {
        std::lock_guard lock(s->mutex);
        s->strand.reset();
    }
    // Cancelled before the loop began, co_spawn itself throws operation_aborted: not a failure.
    auto const cs = co_await asio::this_coro::cancellation_state;
    if (failure && !state::cancelled(cs))
        std::rethrow_exception(failure);
}

void outbox_relay::stop() noexcept
{
    state_->stopping = true;
    std::lock_guard lock(state_->mutex);
    if (state_->strand)
        asio::post(*state_->strand, [s = state_] { s->wake(); });
}

outbox_relay_stats outbox_relay::stats() const
{
    std::lock_guard lock(state_->mutex);
    return state_->stats;
}

awaitable<std::uint64_t> outbox_relay::stored_checkpoint()
{
    co_return co_await state_->read_checkpoint();
}

std::string const& outbox_relay::checkpoint_key() const noexcept
{
    return state_->checkpoint_key;
}

std::string const& outbox_relay::lease_key() const noexcept
{
    return state_->lease_key;
}

std::string const& outbox_relay::instance_id() const noexcept
{
    return state_->cfg.instance_id;
}

}  // namespace es::redis
