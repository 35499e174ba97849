// The parts of a stream bus that every other part shares.
#include "bus_context.hpp"

#include <es/error.hpp>
#include <es/log.hpp>

#include <boost/asio/this_coro.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace es::redis::detail {

void latency_ring::add(std::chrono::microseconds d)
{
    std::lock_guard lock(mutex_);
    if (values_.size() < capacity)
        values_.push_back(d.count());
    else
        values_[next_++ % capacity] = d.count();
}

std::pair<std::chrono::microseconds, std::chrono::microseconds> latency_ring::percentiles() const
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

bus_context::bus_context(stream_bus_config c) : cfg(std::move(c)), log(es::logger("es.redis"))
{
    validate_names(cfg);
    auto url = config_from_url(cfg.redis_url);
    if (!url)
        throw es::error(url.error().code, url.error().message);
    conn_cfg = cfg.connection;
    conn_cfg.host = url->host;
    conn_cfg.port = url->port;
    conn_cfg.username = url->username;
    conn_cfg.password = url->password;
    conn_cfg.database = url->database;
    conn_cfg.use_tls = url->use_tls;
    if (!url->ca_file.empty())
        conn_cfg.ca_file = url->ca_file;
    publish_stream = cfg.stream_prefix + ":stream";
    stream = cfg.follow_event_type.empty() ? publish_stream : cfg.stream_prefix + ":type:" + cfg.follow_event_type;
    dlq = stream + cfg.dlq_stream_suffix;
    consumer = cfg.consumer_name.empty() ? default_consumer_name() : cfg.consumer_name;
}

awaitable<void> bus_context::bind()
{
    if (!ex) {
        auto current = co_await asio::this_coro::executor;
        std::lock_guard lock(conn_mutex);
        if (!ex) {
            ex = current;
            lazily_bound = true;
        }
    }
}

std::shared_ptr<connection> bus_context::make_connection(bool blocking, task_group& owner)
{
    auto c = conn_cfg;
    c.client_name = "es-bus-" + consumer;
    if (blocking) {
        c.allow_blocking = true;
        c.health_check_interval = std::chrono::milliseconds(0);
    }
    auto conn = std::make_shared<connection>(ex, c);
    // run() returns after cancel(); the owner's cancel() cancels the connection (no cancellation
    // signal into run(): it hops to the connection's strand) and the owner joins its group.
    std::weak_ptr<connection> weak = conn;
    auto stop = [weak] {
        if (auto c = weak.lock())
            c->cancel();
    };
    owner.spawn(ex, conn->run(), "redis bus connection to " + c.endpoint(), std::move(stop));
    return conn;
}

connection& bus_context::conn()
{
    std::lock_guard lock(conn_mutex);
    if (!shared) {
        if (!ex)
            throw es::error(es::errc::invalid_argument, "redis bus on '" + stream +
                                                            "': no executor yet; construct it with one or co_await connect() first");
        shared = make_connection(false, connection_tasks);
    }
    return *shared;
}

awaitable<void> bus_context::close_connections()
{
    std::shared_ptr<connection> c;
    {
        std::lock_guard lock(conn_mutex);
        c = std::move(shared);
        shared.reset();
    }
    if (c) {
        auto n = c->stats().connects;
        counters.past_reconnections += n > 1 ? n - 1 : 0;
        c->cancel();
    }
    co_await connection_tasks.join();
}

std::vector<std::shared_ptr<subscription_entry const>> bus_context::matching(std::string_view group,
                                                                               std::string_view type) const
{
    std::vector<std::shared_ptr<subscription_entry const>> out;
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

void push_key_and_ids(request& req, std::string_view command, std::string const& key, std::vector<std::string> const& ids)
{
    std::vector<std::string_view> argv{command, key};
    argv.insert(argv.end(), ids.begin(), ids.end());
    req.push_argv(argv);
}

std::vector<std::string> bus_context::group_names() const
{
    std::vector<std::string> names{cfg.consumer_group};
    for (auto const& g : cfg.additional_consumer_groups)
        if (std::find(names.begin(), names.end(), g) == names.end())
            names.push_back(g);
    return names;
}

std::string bus_context::failures_key(std::string_view group) const
{
    return stream + ":failures:" + std::string(group);
}

awaitable<void> bus_context::ensure_group(std::string group)
{
    std::string from = "0";  // a named local: g++ 12 destroys temporaries in co_await expressions twice
    bool created = co_await xgroup_create(conn(), stream, group, from);
    if (created)
        log->info("redis bus: created consumer group '{}' on '{}'", group, stream);
}

}  // namespace es::redis::detail
