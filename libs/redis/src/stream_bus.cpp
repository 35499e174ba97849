// es::redis::stream_bus. Threading: each consumer group's state is touched only on the group's
// strand (read loop, recovery, ack batching, per-entry bookkeeping); bus-wide counters are
// atomics and the subscription list is guarded by a mutex, so publish() and the admin calls
// may come from any coroutine.
#include "stream_bus_codec.hpp"

#include <es/event_registry.hpp>
#include <es/log.hpp>
#include <es/redis/error.hpp>
#include <es/redis/stream_bus.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <utility>

#include <unistd.h>

namespace es::redis {

std::string default_consumer_name()
{
    char host[256] = "host";
    ::gethostname(host, sizeof host - 1);
    std::random_device rd;
    char suffix[9];
    std::snprintf(suffix, sizeof suffix, "%08x", rd());
    return std::string(host) + "-" + std::to_string(::getpid()) + "-" + suffix;
}

namespace detail {
namespace {
using clock = std::chrono::steady_clock;

awaitable<void> sleep(std::chrono::milliseconds d)
{
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(use_nothrow);
}
}  // namespace

struct sub_entry {
    subscription_id id;
    std::string group;
    subscription sub;
};

class latency_ring {
public:
    void add(std::chrono::microseconds d)
    {
        std::lock_guard lock(mutex_);
        if (values_.size() < capacity)
            values_.push_back(d.count());
        else
            values_[next_++ % capacity] = d.count();
    }
    std::pair<std::chrono::microseconds, std::chrono::microseconds> percentiles() const
    {
        std::vector<std::int64_t> v;
        {
            std::lock_guard lock(mutex_);
            v = values_;
        }
        if (v.empty())
            return {};
        auto at = [&](double q) {
            auto i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
            std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
            return std::chrono::microseconds(v[i]);
        };
        auto p50 = at(0.50);
        auto p99 = at(0.99);
        return {p50, p99};
    }

private:
    static constexpr std::size_t capacity = 4096;
    mutable std::mutex mutex_;
    std::vector<std::int64_t> values_;
    std::size_t next_ = 0;
};

struct group_runner {
    group_runner(asio::any_io_executor ex, std::string n)
        : name(std::move(n)), strand(asio::make_strand(ex))
    {
    }
    std::string name;
    asio::strand<asio::any_io_executor> strand;
    std::shared_ptr<connection> blocking;
    std::atomic<bool> stopping{false};
    std::atomic<bool> running{false};
    // ---- strand only ----
    // Emitted when shutdown's timeout passes: the loops' coroutines, and the handlers they are
    // awaiting, get terminal cancellation; the entries stay pending.
    asio::cancellation_signal cancel_read, cancel_recovery;
    bool handlers_cancelled = false;
    int active_loops = 0;
    // The recovery coroutine's timer, while it waits (owned by the coroutine: a bus may outlive
    // the io_context it ran on, and must then own no I/O objects).
    asio::steady_timer* recovery_timer = nullptr;
    std::map<std::string, std::set<subscription_id>> succeeded;  // entry id -> handlers already done
    std::map<std::string, std::string> last_error;               // entry id -> last handler failure
    std::vector<std::string> to_ack;
};

enum class outcome { ok, failed, dead_lettered, abandoned };

struct bus_state : std::enable_shared_from_this<bus_state> {
    asio::any_io_executor ex;
    stream_bus_config cfg;
    config conn_cfg;
    std::string stream, dlq, consumer;
    std::string publish_stream;  // "<prefix>:stream"; differs from `stream` when following one type
    std::shared_ptr<spdlog::logger> log = es::logger("es.redis");

    std::mutex conn_mutex;
    std::shared_ptr<connection> shared;

    mutable std::mutex subs_mutex;
    std::vector<std::shared_ptr<sub_entry const>> subs;
    subscription_id next_id = 1;

    std::atomic<std::uint64_t> past_reconnections{0};  // of connections already closed
    bool lazily_bound = false;
    std::atomic<std::uint64_t> published{0}, consumed{0}, handler_ok{0}, handler_failed{0}, processed_ok{0},
        processed_failed{0}, recovered{0}, sent_to_dlq{0}, unknown_type{0}, malformed{0}, pending_deleted{0};
    latency_ring latency;

    std::vector<std::shared_ptr<group_runner>> groups;
    bool started = false;

    // Binds to the executor of the first coroutine that uses the bus, when none was given.
    awaitable<void> bind()
    {
        if (!ex) {
            auto current = co_await asio::this_coro::executor;
            std::lock_guard lock(conn_mutex);
            if (!ex) {
                ex = current;
                lazily_bound = true;
            }
        }
        std::lock_guard lock(conn_mutex);
        if (groups.empty())
            for (auto const& name : group_names())
                groups.push_back(std::make_shared<group_runner>(ex, name));
    }

    std::vector<std::string> group_names() const
    {
        std::vector<std::string> names{cfg.consumer_group};
        for (auto const& g : cfg.additional_consumer_groups)
            if (std::find(names.begin(), names.end(), g) == names.end())
                names.push_back(g);
        return names;
    }

    std::shared_ptr<connection> make_connection(bool blocking)
    {
        auto c = conn_cfg;
        c.client_name = "es-bus-" + consumer;
        if (blocking) {
            c.allow_blocking = true;
            c.health_check_interval = std::chrono::milliseconds(0);
        }
        auto conn = std::make_shared<connection>(ex, c);
        asio::co_spawn(ex, conn->run(), [log = log, where = c.endpoint()](std::exception_ptr e) {
            if (e)
                log->error("redis bus connection to {} ended: {}", where, exception_message(e));
        });
        return conn;
    }

    connection& conn()
    {
        std::lock_guard lock(conn_mutex);
        if (!shared)
            shared = make_connection(false);
        return *shared;
    }

    std::vector<std::shared_ptr<sub_entry const>> matching(std::string_view group, std::string_view type) const
    {
        std::vector<std::shared_ptr<sub_entry const>> out;
        std::lock_guard lock(subs_mutex);
        for (auto const& s : subs) {
            if (s->group != group)
                continue;
            auto const& t = s->sub.event_types;
            if (t.empty() || std::find(t.begin(), t.end(), type) != t.end())
                out.push_back(s);
        }
        return out;
    }

    awaitable<void> ensure_group(std::string group)
    {
        std::string from = "0";
        bool created = co_await xgroup_create(conn(), stream, group, from);
        if (created)
            log->info("redis bus: created consumer group '{}' on '{}'", group, stream);
    }

    // Copies the entry to the DLQ with why, and acks it, atomically (MULTI/EXEC).
    awaitable<void> dead_letter(std::string group, stream_entry const& entry, std::string reason, std::uint64_t deliveries)
    {
        if (!cfg.enable_dlq) {
            log->error("redis bus: entry {} of '{}' (group '{}') cannot be processed and stays pending (DLQ disabled): {}",
                       entry.id, stream, group, reason);
            co_return;
        }
        field_list fields = entry.fields;
        fields.emplace_back("dlq_original_id", entry.id);
        fields.emplace_back("dlq_original_stream", stream);
        fields.emplace_back("dlq_group", group);
        fields.emplace_back("dlq_reason", reason);
        fields.emplace_back("dlq_retry_count", std::to_string(deliveries));
        fields.emplace_back("dlq_failed_at", format_timestamp(now()));
        request req;
        xadd_options opts;
        push_xadd(req, dlq, fields, opts);
        std::vector<std::string> ids{entry.id};
        push_xack(req, stream, group, ids);
        co_await transaction(conn(), req);
        ++sent_to_dlq;
        log->warn("redis bus: entry {} of '{}' (group '{}') moved to '{}': {}", entry.id, stream, group, dlq, reason);
    }

    awaitable<void> flush_acks(group_runner& g)
    {
        if (g.to_ack.empty())
            co_return;
        auto ids = std::move(g.to_ack);
        g.to_ack.clear();
        co_await xack(conn(), stream, g.name, ids);
    }

    // On g's strand. Dispatches one entry to the group's handlers. First deliveries are acked in
    // a batch after the read batch (ack_now false); recovered ones at once.
    awaitable<outcome> handle(group_runner& g, stream_entry const& entry, bool ack_now)
    {
        ++consumed;
        if (entry.deleted) {
            // Our own PEL after a restart can hold ids whose data was trimmed: nothing to deliver.
            ++pending_deleted;
            log->warn("redis bus: pending entry {} of '{}' (group '{}') was trimmed or deleted before processing",
                      entry.id, stream, g.name);
            std::vector<std::string> ids{entry.id};
            co_await xack(conn(), stream, g.name, ids);
            co_return outcome::dead_lettered;
        }
        auto env = decode_envelope(entry);
        if (!env) {
            ++malformed;
            co_await dead_letter(g.name, entry, "malformed entry: " + env.error().message, 1);
            co_return outcome::dead_lettered;
        }
        if (cfg.registry != nullptr && !cfg.registry->contains(env->event_type)) {
            ++unknown_type;
            co_await dead_letter(g.name, entry, "unknown event type '" + env->event_type + "'", 1);
            co_return outcome::dead_lettered;
        }
        auto handlers = matching(g.name, env->event_type);
        // Handlers that succeeded on an earlier delivery of this entry (a copy: recovery may
        // touch the map while a handler is awaited). Recorded only when some handler fails.
        std::set<subscription_id> done;
        if (auto it = g.succeeded.find(entry.id); it != g.succeeded.end())
            done = it->second;
        bool all_ok = true;
        bool abandoned = false;
        auto started_at = clock::now();
        for (auto const& h : handlers) {
            if (done.contains(h->id))
                continue;  // succeeded on an earlier delivery: only failed handlers run again
            std::exception_ptr failure;
            try {
                co_await h->sub.handler(*env);
            } catch (...) {
                failure = std::current_exception();
            }
            if (failure && g.handlers_cancelled) {
                abandoned = true;
                all_ok = false;
                break;
            }
            if (failure) {
                ++handler_failed;
                all_ok = false;
                auto why = exception_message(failure);
                g.last_error[entry.id] = why;
                log->error("redis bus: handler {}{} failed on {} (entry {} of '{}', group '{}'): {}", h->id,
                           h->sub.name.empty() ? "" : " (" + h->sub.name + ")", env->event_type, entry.id, stream,
                           g.name, why);
            } else {
                ++handler_ok;
                done.insert(h->id);
            }
        }
        latency.add(std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - started_at));
        if (abandoned) {
            g.succeeded[entry.id] = std::move(done);
            log->warn("redis bus: handler for entry {} of '{}' cancelled by shutdown; the entry stays pending", entry.id,
                      stream);
            co_return outcome::abandoned;
        }
        if (!all_ok) {
            g.succeeded[entry.id] = std::move(done);
            ++processed_failed;
            co_return outcome::failed;
        }
        if (!g.succeeded.empty())
            g.succeeded.erase(entry.id);
        if (!g.last_error.empty())
            g.last_error.erase(entry.id);
        g.to_ack.push_back(entry.id);
        if (ack_now)
            co_await flush_acks(g);
        ++processed_ok;
        co_return outcome::ok;
    }

    awaitable<void> read_loop(std::shared_ptr<group_runner> g)
    {
        std::string cursor = "0";  // our own pending entries first (a restart), then new ones
        while (!g->stopping) {
            std::string failure;
            bool no_group = false;
            try {
                xreadgroup_options opts;
                opts.count = cfg.batch_size;
                if (cfg.block_time.count() > 0)
                    opts.block = cfg.block_time;
                auto messages = co_await xreadgroup(*g->blocking, g->name, consumer, stream, cursor, opts);
                std::vector<stream_entry> entries;
                if (!messages.empty())
                    entries = std::move(messages.front().entries);
                if (cursor != ">")
                    cursor = entries.empty() ? std::string(">") : entries.back().id;
                for (auto const& e : entries) {
                    if (g->stopping)
                        break;  // the rest stays pending in our PEL
                    co_await handle(*g, e, false);
                }
                co_await flush_acks(*g);
                if (entries.empty() && !opts.block)
                    co_await sleep(std::chrono::milliseconds(10));
            } catch (server_error const& e) {
                failure = e.what();
                no_group = e.kind() == "NOGROUP";
            } catch (std::exception const& e) {
                failure = e.what();
            }
            if (failure.empty())
                continue;
            if (g->stopping)
                break;
            log->warn("redis bus: reading '{}' as group '{}' failed: {}; retrying", stream, g->name, failure);
            cursor = "0";  // a lost XREADGROUP reply may have delivered entries to our PEL
            co_await sleep(std::chrono::milliseconds(50));
            if (no_group) {
                try {
                    co_await ensure_group(g->name);  // the stream was deleted or the server lost it
                } catch (es::error const& e) {
                    log->warn("redis bus: recreating group '{}' failed: {}", g->name, e.what());
                }
            }
        }
    }

    awaitable<recovery_result> recover(group_runner& g, std::chrono::milliseconds min_idle, std::uint32_t max_retries,
                                       std::size_t batch)
    {
        recovery_result r;
        std::string cursor = "0-0";
        do {
            auto page = co_await xautoclaim(conn(), stream, g.name, consumer, min_idle, cursor, std::max<std::size_t>(batch, 1));
            r.deleted += page.deleted_ids.size();
            r.checked += page.entries.size() + page.deleted_ids.size();
            r.claimed += page.entries.size();
            if (!page.deleted_ids.empty()) {
                pending_deleted += page.deleted_ids.size();
                log->warn("redis bus: {} pending entries of '{}' (group '{}') were trimmed or deleted before being "
                          "processed",
                          page.deleted_ids.size(), stream, g.name);
            }
            if (!page.entries.empty()) {
                xpending_range_options o;
                o.start = page.entries.front().id;
                o.end = page.entries.back().id;
                o.count = page.entries.size();
                o.consumer = consumer;
                auto pending = co_await xpending_range(conn(), stream, g.name, o);
                std::map<std::string, std::uint64_t> deliveries;
                for (auto const& p : pending)
                    deliveries[p.id] = p.deliveries;
                for (auto const& e : page.entries) {
                    if (g.stopping)
                        break;
                    auto d = deliveries.contains(e.id) ? deliveries[e.id] : 1;
                    if (d > max_retries) {
                        auto last = g.last_error.contains(e.id) ? "; last error: " + g.last_error[e.id] : std::string();
                        co_await dead_letter(g.name, e,
                                             "delivered " + std::to_string(d) + " times, more than max_retries " +
                                                 std::to_string(max_retries) + last,
                                             d);
                        g.succeeded.erase(e.id);
                        g.last_error.erase(e.id);
                        ++r.sent_to_dlq;
                        continue;
                    }
                    auto result = co_await handle(g, e, true);
                    if (result == outcome::ok) {
                        ++r.reprocessed;
                        ++recovered;
                    } else if (result == outcome::failed) {
                        ++r.failed;
                    } else if (result == outcome::dead_lettered) {
                        ++r.sent_to_dlq;
                    }
                }
            }
            cursor = page.next_cursor;
        } while (cursor != "0-0" && !g.stopping);
        co_return r;
    }

    awaitable<void> recovery_loop(std::shared_ptr<group_runner> g)
    {
        if (cfg.recovery_interval.count() <= 0)
            co_return;
        asio::steady_timer timer(g->strand);
        g->recovery_timer = &timer;
        while (!g->stopping) {
            timer.expires_after(cfg.recovery_interval);
            co_await timer.async_wait(use_nothrow);
            if (g->stopping)
                break;
            std::string failure;
            try {
                auto r = co_await recover(*g, cfg.pending_idle_time, cfg.max_retries, cfg.recovery_batch_size);
                if (r.claimed > 0 || r.deleted > 0)
                    log->info("redis bus: recovery of '{}' group '{}': claimed {}, reprocessed {}, failed {}, to DLQ {}, "
                              "deleted {}",
                              stream, g->name, r.claimed, r.reprocessed, r.failed, r.sent_to_dlq, r.deleted);
            } catch (std::exception const& e) {
                failure = e.what();
            }
            if (!failure.empty() && !g->stopping)
                log->warn("redis bus: recovery of '{}' group '{}' failed: {}", stream, g->name, failure);
        }
        g->recovery_timer = nullptr;
    }

    // On g's strand: starts the read loop and the recovery coroutine, each cancellable by its
    // signal; `running` drops when both have ended.
    void start_group(std::shared_ptr<group_runner> g)
    {
        g->active_loops = 2;
        g->handlers_cancelled = false;
        auto self = shared_from_this();
        auto done = [self, g](char const* which) {
            return [self, g, which](std::exception_ptr e) {
                if (e && !g->stopping)
                    self->log->error("redis bus: {} of group '{}' stopped on an error: {}", which, g->name,
                                     exception_message(e));
                if (--g->active_loops == 0)
                    g->running = false;
            };
        };
        asio::co_spawn(g->strand, read_loop(g), asio::bind_cancellation_slot(g->cancel_read.slot(), done("the read loop")));
        asio::co_spawn(g->strand, recovery_loop(g),
                       asio::bind_cancellation_slot(g->cancel_recovery.slot(), done("pending recovery")));
    }

    group_runner* find_group(std::string_view name)
    {
        for (auto const& g : groups)
            if (g->name == name)
                return g.get();
        return nullptr;
    }

    static std::optional<stored_event> to_stored(stream_entry const& e)
    {
        auto env = decode_envelope(e);
        if (!env)
            return std::nullopt;
        return stored_event{e.id, std::move(*env)};
    }

    static dlq_message to_dlq_message(stream_entry const& e)
    {
        dlq_message m;
        m.message_id = e.id;
        for (auto const& [k, v] : e.fields) {
            if (k == "dlq_original_id")
                m.original_id = v;
            else if (k == "dlq_group")
                m.group = v;
            else if (k == "dlq_reason")
                m.reason = v;
            else if (k == "dlq_retry_count")
                m.retry_count = std::strtoull(v.c_str(), nullptr, 10);
            else if (k == "dlq_failed_at")
                m.failed_at = v;
            else if (k.starts_with(dlq_field_prefix))
                continue;
            else {
                if (k == "event_type")
                    m.event_type = v;
                m.original_fields.emplace_back(k, v);
            }
        }
        return m;
    }
};

struct pull_state {
    std::shared_ptr<bus_state> bus;
    std::string group;
    std::string name;
    std::shared_ptr<connection> blocking;
    std::deque<stream_entry> buffered;
    std::string cursor = "0";
};

}  // namespace detail

// ---- stream_bus ---------------------------------------------------------------------------------

stream_bus::stream_bus(stream_bus_config cfg) : stream_bus(asio::any_io_executor(), std::move(cfg)) {}

stream_bus::stream_bus(asio::any_io_executor ex, stream_bus_config cfg) : state_(std::make_shared<detail::bus_state>())
{
    auto& s = *state_;
    s.ex = ex;
    s.cfg = std::move(cfg);
    validate_names(s.cfg);
    auto url = config_from_url(s.cfg.redis_url);
    if (!url)
        throw es::error(url.error().code, url.error().message);
    s.conn_cfg = s.cfg.connection;
    s.conn_cfg.host = url->host;
    s.conn_cfg.port = url->port;
    s.conn_cfg.username = url->username;
    s.conn_cfg.password = url->password;
    s.conn_cfg.database = url->database;
    s.conn_cfg.use_tls = url->use_tls;
    if (!url->ca_file.empty())
        s.conn_cfg.ca_file = url->ca_file;
    s.publish_stream = s.cfg.stream_prefix + ":stream";
    s.stream = s.cfg.follow_event_type.empty() ? s.publish_stream
                                               : s.cfg.stream_prefix + ":type:" + s.cfg.follow_event_type;
    s.dlq = s.stream + s.cfg.dlq_stream_suffix;
    s.consumer = s.cfg.consumer_name.empty() ? default_consumer_name() : s.cfg.consumer_name;
    if (ex)
        for (auto const& name : s.group_names())
            s.groups.push_back(std::make_shared<detail::group_runner>(ex, name));
}

stream_bus::~stream_bus()
{
    // After shutdown() nothing is left to stop, and the io_context may be gone already.
    if (state_->started)
        stop_consuming();
    std::lock_guard lock(state_->conn_mutex);
    if (state_->shared)
        state_->shared->cancel();
}

awaitable<void> stream_bus::publish(std::span<event_envelope const> events)
{
    if (events.empty())
        co_return;
    auto s = state_;
    co_await s->bind();
    request req;
    xadd_options opts;
    opts.max_len = s->cfg.max_stream_length;
    for (auto const& e : events) {
        auto fields = detail::encode_envelope(e);
        push_xadd(req, s->publish_stream, fields, opts);
        if (s->cfg.per_type_streams)
            push_xadd(req, type_stream_name(e.event_type), fields, opts);
    }
    if (s->cfg.atomic_publish) {
        co_await transaction(s->conn(), req);
    } else {
        auto replies = co_await s->conn().exec(req);
        for (auto const& r : replies)
            throw_if_error(r, "XADD " + s->publish_stream);
    }
    s->published += events.size();
}

subscription_id stream_bus::add_subscription(subscription s)
{
    return add_subscription(state_->cfg.consumer_group, std::move(s));
}

subscription_id stream_bus::add_subscription(std::string const& group, subscription s)
{
    auto names = state_->group_names();
    if (std::find(names.begin(), names.end(), group) == names.end())
        throw es::error(es::errc::invalid_argument, "redis bus on '" + state_->stream + "': '" + group +
                                                        "' is not one of its consumer groups");
    std::lock_guard lock(state_->subs_mutex);
    auto id = state_->next_id++;
    state_->subs.push_back(std::make_shared<detail::sub_entry const>(detail::sub_entry{id, group, std::move(s)}));
    return id;
}

bool stream_bus::unsubscribe(subscription_id id)
{
    std::lock_guard lock(state_->subs_mutex);
    auto& v = state_->subs;
    auto it = std::find_if(v.begin(), v.end(), [&](auto const& e) { return e->id == id; });
    if (it == v.end())
        return false;
    v.erase(it);
    return true;
}

std::size_t stream_bus::subscriber_count(std::string_view event_type) const
{
    std::lock_guard lock(state_->subs_mutex);
    return std::count_if(state_->subs.begin(), state_->subs.end(), [&](auto const& e) {
        auto const& t = e->sub.event_types;
        return std::find(t.begin(), t.end(), event_type) != t.end();
    });
}

std::size_t stream_bus::wildcard_subscriber_count() const
{
    std::lock_guard lock(state_->subs_mutex);
    return std::count_if(state_->subs.begin(), state_->subs.end(), [](auto const& e) { return e->sub.event_types.empty(); });
}

std::size_t stream_bus::subscriber_count() const
{
    std::lock_guard lock(state_->subs_mutex);
    return state_->subs.size();
}

bus_stats stream_bus::stats() const
{
    return detailed_stats();
}

stream_bus_stats stream_bus::detailed_stats() const
{
    auto& s = *state_;
    stream_bus_stats out;
    out.published = s.published;
    out.consumed = s.consumed;
    out.delivered = s.consumed;
    out.handler_successes = s.handler_ok;
    out.handler_failures = s.handler_failed;
    out.processed_ok = s.processed_ok;
    out.processed_failed = s.processed_failed;
    out.recovered = s.recovered;
    out.sent_to_dlq = s.sent_to_dlq;
    out.unknown_type = s.unknown_type;
    out.malformed = s.malformed;
    out.pending_deleted = s.pending_deleted;
    auto reconnects = [](std::shared_ptr<connection> const& c) -> std::uint64_t {
        if (!c)
            return 0;
        auto n = c->stats().connects;
        return n > 1 ? n - 1 : 0;
    };
    out.reconnections = s.past_reconnections;
    {
        std::lock_guard lock(const_cast<std::mutex&>(s.conn_mutex));
        out.reconnections += reconnects(s.shared);
        for (auto const& g : s.groups)
            out.reconnections += reconnects(g->blocking);
    }
    std::tie(out.handler_latency_p50, out.handler_latency_p99) = s.latency.percentiles();
    return out;
}

awaitable<void> stream_bus::connect()
{
    auto s = state_;
    co_await s->bind();
    request ping;
    ping.push("PING");
    ping.idempotent = true;
    co_await s->conn().call(ping);
}

awaitable<void> stream_bus::start()
{
    auto s = state_;
    co_await s->bind();
    if (s->started)
        co_return;
    s->started = true;
    co_await connect();
    for (auto const& g : s->groups) {
        co_await s->ensure_group(g->name);
        g->blocking = s->make_connection(true);
        g->stopping = false;
        g->running = true;
        // The completion handlers keep the bus state alive until the group's coroutines end,
        // even if the stream_bus is destroyed first.
        asio::post(g->strand, [s, g] { s->start_group(g); });
    }
}

void stream_bus::stop_consuming()
{
    for (auto const& g : state_->groups) {
        g->stopping = true;
        if (g->blocking)
            g->blocking->cancel();
        asio::post(g->strand, [g] {
            if (g->recovery_timer != nullptr)
                g->recovery_timer->cancel();
        });
    }
}

awaitable<void> stream_bus::shutdown(std::chrono::milliseconds timeout)
{
    auto s = state_;
    co_await s->bind();
    stop_consuming();
    auto any_running = [&] {
        return std::any_of(s->groups.begin(), s->groups.end(), [](auto const& g) { return g->running.load(); });
    };
    auto deadline = detail::clock::now() + timeout;
    while (any_running() && detail::clock::now() < deadline)
        co_await detail::sleep(std::chrono::milliseconds(2));
    if (any_running()) {
        s->log->warn("redis bus on '{}': handlers still running after {} ms; cancelling them", s->stream, timeout.count());
        for (auto const& g : s->groups)
            asio::post(g->strand, [g] {
                g->handlers_cancelled = true;
                g->cancel_read.emit(asio::cancellation_type::terminal);
                g->cancel_recovery.emit(asio::cancellation_type::terminal);
            });
        auto hard = detail::clock::now() + std::chrono::seconds(2);
        while (any_running() && detail::clock::now() < hard)
            co_await detail::sleep(std::chrono::milliseconds(2));
    }
    // Release every connection and strand now, while the executor still runs: a bus can outlive
    // its io_context (a test fixture), and then must hold no I/O object bound to it. start()
    // creates them again.
    auto reconnects = [](std::shared_ptr<connection> const& c) -> std::uint64_t {
        auto n = c ? c->stats().connects : 0;
        return n > 1 ? n - 1 : 0;
    };
    std::vector<std::shared_ptr<detail::group_runner>> groups;
    std::shared_ptr<connection> shared;
    {
        std::lock_guard lock(s->conn_mutex);
        shared = std::move(s->shared);
        groups = std::move(s->groups);
        s->groups.clear();
        if (s->lazily_bound)
            s->ex = asio::any_io_executor();
    }
    for (auto const& g : groups) {
        s->past_reconnections += reconnects(g->blocking);
        if (auto blocking = std::exchange(g->blocking, nullptr))
            blocking->cancel();
    }
    s->past_reconnections += reconnects(shared);
    if (shared)
        shared->cancel();
    s->started = false;
}

awaitable<stream_bus_info> stream_bus::stream_info()
{
    auto s = state_;
    co_await s->bind();
    auto& c = s->conn();
    stream_bus_info info;
    info.stream = s->stream;
    info.dlq_stream = s->dlq;
    request exists;
    exists.push("EXISTS", s->stream, s->dlq);
    exists.push("XLEN", s->dlq);
    auto probe = co_await c.exec(exists);
    info.dlq_length = static_cast<std::uint64_t>(probe.at(1).integer);
    if (probe.at(0).integer == 0 || (probe.at(0).integer == 1 && info.dlq_length > 0)) {
        request stream_exists;
        stream_exists.push("EXISTS", s->stream);
        auto present = co_await c.call(stream_exists);
        if (present.integer == 0)
            co_return info;
    }
    auto st = co_await xinfo_stream(c, s->stream);
    info.length = st.length;
    if (st.first_entry)
        info.first_id = st.first_entry->id;
    if (st.last_entry)
        info.last_id = st.last_entry->id;
    for (auto& g : co_await xinfo_groups(c, s->stream)) {
        group_status gs;
        gs.name = g.name;
        gs.consumers = g.consumers;
        gs.pending = g.pending;
        gs.last_delivered_id = g.last_delivered_id;
        gs.lag = g.lag;
        gs.consumer_list = co_await xinfo_consumers(c, s->stream, g.name);
        info.total_pending += g.pending;
        info.groups.push_back(std::move(gs));
    }
    co_return info;
}

awaitable<std::vector<dlq_message>> stream_bus::dlq_messages(std::size_t count)
{
    return dlq_messages(count, "-", "+");
}

awaitable<std::vector<dlq_message>> stream_bus::dlq_messages(std::size_t count, std::string from_id, std::string to_id)
{
    auto s = state_;
    co_await s->bind();
    auto entries = co_await xrange(s->conn(), s->dlq, from_id, to_id, count);
    std::vector<dlq_message> out;
    for (auto const& e : entries)
        out.push_back(detail::bus_state::to_dlq_message(e));
    co_return out;
}

awaitable<bool> stream_bus::replay_dlq_message(std::string dlq_message_id)
{
    auto s = state_;
    co_await s->bind();
    auto entries = co_await xrange(s->conn(), s->dlq, dlq_message_id, dlq_message_id, 1);
    if (entries.empty())
        co_return false;
    auto m = detail::bus_state::to_dlq_message(entries.front());
    request req;
    xadd_options opts;
    opts.max_len = s->cfg.max_stream_length;
    push_xadd(req, s->stream, m.original_fields, opts);
    req.push("XDEL", s->dlq, dlq_message_id);
    co_await transaction(s->conn(), req);
    s->log->info("redis bus: replayed DLQ entry {} (originally {}) to '{}'", dlq_message_id, m.original_id, s->stream);
    co_return true;
}

awaitable<std::size_t> stream_bus::replay_all_dlq_messages()
{
    auto s = state_;
    co_await s->bind();
    std::size_t n = 0;
    for (;;) {
        auto entries = co_await xrange(s->conn(), s->dlq, "-", "+", 100);
        if (entries.empty())
            break;
        for (auto const& e : entries) {
            bool replayed = co_await replay_dlq_message(e.id);
            if (replayed)
                ++n;
        }
    }
    co_return n;
}

awaitable<std::size_t> stream_bus::purge_dlq()
{
    auto s = state_;
    co_await s->bind();
    request req;
    req.push("XLEN", s->dlq).push("DEL", s->dlq);
    auto replies = co_await s->conn().exec(req);
    co_return static_cast<std::size_t>(replies.at(0).integer);
}

awaitable<recovery_result> stream_bus::recover_pending_messages(std::chrono::milliseconds min_idle,
                                                                std::uint32_t max_retries, std::size_t batch_size)
{
    auto s = state_;
    co_await s->bind();
    auto g = s->groups.front();
    // On the group's strand: recovery touches the group's bookkeeping.
    // The lambda is a named local: g++ 12 destroys lambda temporaries inside a co_await twice.
    auto pass = [s, g, min_idle, max_retries, batch_size]() { return s->recover(*g, min_idle, max_retries, batch_size); };
    auto result = co_await asio::co_spawn(g->strand, std::move(pass), asio::use_awaitable);
    co_return result;
}

awaitable<recovery_result> stream_bus::recover_pending_messages()
{
    return recover_pending_messages(state_->cfg.pending_idle_time, state_->cfg.max_retries, state_->cfg.recovery_batch_size);
}

awaitable<std::optional<event_envelope>> stream_bus::get_event(std::string message_id)
{
    auto s = state_;
    co_await s->bind();
    auto entries = co_await xrange(s->conn(), s->stream, message_id, message_id, 1);
    if (entries.empty())
        co_return std::nullopt;
    auto stored = detail::bus_state::to_stored(entries.front());
    if (!stored)
        co_return std::nullopt;
    co_return std::move(stored->event);
}

awaitable<std::vector<stored_event>> stream_bus::event_history(std::size_t count, std::string from_id, std::string to_id)
{
    auto s = state_;
    co_await s->bind();
    auto entries = co_await xrange(s->conn(), s->stream, from_id, to_id, count);
    std::vector<stored_event> out;
    for (auto const& e : entries)
        if (auto stored = detail::bus_state::to_stored(e))
            out.push_back(std::move(*stored));
    co_return out;
}

awaitable<std::vector<stored_event>> stream_bus::event_history(std::size_t count)
{
    return event_history(count, "-", "+");
}

awaitable<std::size_t> stream_bus::replay(std::string from_id, std::size_t count)
{
    auto s = state_;
    co_await s->bind();
    auto events = co_await event_history(count, from_id, "+");
    for (auto const& stored : events) {
        for (auto const& h : s->matching(s->cfg.consumer_group, stored.event.event_type)) {
            std::exception_ptr failure;
            try {
                co_await h->sub.handler(stored.event);
            } catch (...) {
                failure = std::current_exception();
            }
            if (failure) {
                ++s->handler_failed;
                s->log->error("redis bus: replay of {} to handler {} failed: {}", stored.message_id, h->id,
                              exception_message(failure));
            } else {
                ++s->handler_ok;
            }
        }
    }
    co_return events.size();
}

awaitable<std::int64_t> stream_bus::trim(std::uint64_t max_len)
{
    auto s = state_;
    co_await s->bind();
    co_return co_await xtrim_maxlen(s->conn(), s->stream, max_len, false);
}

awaitable<std::int64_t> stream_bus::trim_older_than(std::chrono::milliseconds age)
{
    auto s = state_;
    co_await s->bind();
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
    auto min = now_ms - age;
    auto min_id = std::to_string(std::max<std::int64_t>(min.count(), 0)) + "-0";
    co_return co_await xtrim_minid(s->conn(), s->stream, min_id, false);
}

awaitable<pull_consumer> stream_bus::make_consumer(std::string group, std::string consumer_name)
{
    auto s = state_;
    co_await s->bind();
    co_await s->ensure_group(group);
    auto st = std::make_shared<detail::pull_state>();
    st->bus = s;
    st->group = std::move(group);
    st->name = std::move(consumer_name);
    st->blocking = s->make_connection(true);
    co_return pull_consumer(st);
}

std::string const& stream_bus::stream_name() const noexcept { return state_->stream; }
std::string const& stream_bus::dlq_stream_name() const noexcept { return state_->dlq; }
std::string stream_bus::type_stream_name(std::string_view event_type) const
{
    return state_->cfg.stream_prefix + ":type:" + std::string(event_type);
}
std::string const& stream_bus::consumer_name() const noexcept { return state_->consumer; }
redis::connection& stream_bus::redis()
{
    if (!state_->ex)
        throw es::error(es::errc::invalid_argument, "redis bus on '" + state_->stream +
                                                        "': no executor yet; construct it with one or co_await connect() first");
    return state_->conn();
}

// ---- pull_consumer ------------------------------------------------------------------------------

pull_consumer::pull_consumer(std::shared_ptr<detail::pull_state> state) : state_(std::move(state)) {}
pull_consumer::pull_consumer(pull_consumer&&) noexcept = default;
pull_consumer::~pull_consumer()
{
    close();
}

void pull_consumer::close()
{
    if (state_ && state_->blocking)
        state_->blocking->cancel();
}

awaitable<std::optional<pull_consumer::delivery>> pull_consumer::next(std::chrono::milliseconds wait)
{
    auto st = state_;
    auto& bus = *st->bus;
    auto deadline = detail::clock::now() + wait;
    for (;;) {
        while (!st->buffered.empty()) {
            auto entry = std::move(st->buffered.front());
            st->buffered.pop_front();
            ++bus.consumed;
            auto env = detail::decode_envelope(entry);
            if (!env) {
                ++bus.malformed;
                co_await bus.dead_letter(st->group, entry, "malformed entry: " + env.error().message, 1);
                continue;
            }
            delivery d;
            d.event = std::move(*env);
            d.message_id = entry.id;
            d.state_ = st;
            co_return d;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - detail::clock::now());
        if (left.count() <= 0 && st->cursor == ">")
            co_return std::nullopt;
        xreadgroup_options opts;
        opts.count = bus.cfg.batch_size;
        if (st->cursor == ">")
            opts.block = std::max(left, std::chrono::milliseconds(1));
        auto messages = co_await xreadgroup(*st->blocking, st->group, st->name, bus.stream, st->cursor, opts);
        std::vector<stream_entry> entries;
        if (!messages.empty())
            entries = std::move(messages.front().entries);
        if (st->cursor != ">")
            st->cursor = entries.empty() ? std::string(">") : entries.back().id;
        for (auto& e : entries)
            st->buffered.push_back(std::move(e));
    }
}

awaitable<pull_consumer::delivery> pull_consumer::next()
{
    for (;;) {
        auto d = co_await next(std::chrono::milliseconds(5000));
        if (d)
            co_return std::move(*d);
    }
}

awaitable<void> pull_consumer::delivery::ack() const
{
    auto st = state_;
    std::vector<std::string> ids{message_id};
    co_await xack(st->bus->conn(), st->bus->stream, st->group, ids);
    ++st->bus->processed_ok;
}

}  // namespace es::redis
