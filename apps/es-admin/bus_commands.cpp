// es-admin bus ... / dlq ...: the Redis stream bus seen by an operator.
#include "commands.hpp"

#include <es/redis/client/request.hpp>
#include <es/redis/bus/stream_bus.hpp>
#include <es/redis/client/streams.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <iostream>

namespace es_admin {

std::string bus_help()
{
    return R"(bus commands (Redis; --bus URL or ES_BUS, --stream-prefix P or ES_STREAM_PREFIX, default "orders"):
  bus info                                     stream, consumer groups (lag, pending, consumers), DLQ length
  bus pending --group G [--count N] [--min-idle DUR]
                                               pending entries of a group: consumer, idle time, deliveries
  bus history [--count N] [--from ID] [--to ID]
                                               events in the stream with their message ids
  bus replay FROM_ID [--count N]               delivers stored events again to current subscribers (re-adds them)
  bus rebuild --group G [--from ID] [--timeout DUR] --yes
                                               rebuilds a projection: the group is reset to the start (or
                                               ID) and re-delivers everything; shows progress until caught up
  bus trim --max-len N | --older-than DUR [--yes]
                                               approximate trim; may drop entries not yet acknowledged
dlq commands:
  dlq list [--count N]                         dead letters with reason and retry count
  dlq replay ID                                moves one dead letter back to the stream
  dlq replay-all                               moves every dead letter back (progress on a terminal)
  dlq purge [--yes]                            deletes every dead letter
)";
}

namespace {

es::redis::stream_bus_config bus_config(context const& ctx)
{
    if (ctx.bus_url.empty() || ctx.bus_url == "memory")
        throw usage_error("bus and dlq commands need a Redis bus: --bus redis://host:port or ES_BUS");
    es::redis::stream_bus_config cfg;
    cfg.redis_url = ctx.bus_url;
    cfg.stream_prefix = ctx.stream_prefix;
    cfg.connection.connect_timeout = std::chrono::seconds(3);
    cfg.connection.reconnect_wait = std::chrono::milliseconds(0);  // an operator's tool fails fast
    return cfg;
}

void require_yes(context const& ctx, std::string const& what)
{
    if (!ctx.args.flag("yes"))
        throw usage_error(what + " cannot be undone; add --yes to go ahead");
}

std::string ms_text(std::chrono::milliseconds ms)
{
    return std::to_string(ms.count()) + " ms";
}

}  // namespace

es::awaitable<int> run_bus_command(std::string const& group, std::string const& command, context& ctx)
{
    auto cfg = bus_config(ctx);
    es::redis::stream_bus bus(co_await es::asio::this_coro::executor, cfg);
    auto& a = ctx.args;
    int code = 0;
    std::exception_ptr failure;
    try {
        // Not connect(): that creates the bus' consumer groups (and the stream with them), and an
        // operator's look at a stream must not change it. wait_ready() still fails at once when
        // the server cannot be reached.
        co_await bus.redis().wait_ready();
        if (group == "bus" && command == "info") {
            a.allow_only({"json"});
            auto info = co_await bus.stream_info();
            if (info.length == 0 && info.groups.empty() && info.first_id.empty() && !ctx.out.json()) {
                std::cerr << "es-admin: stream '" << info.stream << "' does not exist or is empty\n";
                code = 1;
            } else {
                ctx.out.line("stream " + info.stream + ": " + std::to_string(info.length) + " entries (" +
                             (info.first_id.empty() ? "-" : info.first_id) + " .. " +
                             (info.last_id.empty() ? "-" : info.last_id) + "), " + std::to_string(info.total_pending) +
                             " pending, DLQ " + info.dlq_stream + ": " + std::to_string(info.dlq_length));
                std::vector<std::vector<std::string>> rows;
                boost::json::array groups;
                for (auto const& g : info.groups) {
                    rows.push_back({g.name, std::to_string(g.consumers), std::to_string(g.pending),
                                    g.lag ? std::to_string(*g.lag) : "?", g.last_delivered_id});
                    boost::json::array consumers;
                    for (auto const& c : g.consumer_list)
                        consumers.push_back({{"name", c.name}, {"pending", c.pending}, {"idle_ms", c.idle.count()}});
                    boost::json::object o{{"name", g.name},
                                          {"consumers", g.consumers},
                                          {"pending", g.pending},
                                          {"last_delivered_id", g.last_delivered_id},
                                          {"consumer_list", std::move(consumers)}};
                    o["lag"] = g.lag ? boost::json::value(*g.lag) : boost::json::value(nullptr);
                    groups.push_back(std::move(o));
                }
                ctx.out.table({"group", "consumers", "pending", "lag", "last delivered"}, rows,
                              boost::json::object{{"stream", info.stream},
                                                  {"length", info.length},
                                                  {"first_id", info.first_id},
                                                  {"last_id", info.last_id},
                                                  {"total_pending", info.total_pending},
                                                  {"dlq_stream", info.dlq_stream},
                                                  {"dlq_length", info.dlq_length},
                                                  {"groups", std::move(groups)}});
            }
        } else if (group == "bus" && command == "pending") {
            a.allow_only({"json", "count", "min-idle"});
            if (ctx.group.empty())
                throw usage_error("bus pending needs --group NAME");
            es::redis::request req;
            es::redis::xpending_range_options o;
            o.count = a.number_or("count", 100);
            if (auto idle = a.option("min-idle"))
                o.min_idle = std::chrono::milliseconds(parse_duration_ms(*idle));
            es::redis::push_xpending_range(req, bus.stream_name(), ctx.group, o);
            auto reply = co_await bus.redis().call(req);
            auto entries = es::redis::decode_xpending_range(reply).value();
            std::vector<std::vector<std::string>> rows;
            boost::json::array json;
            for (auto const& p : entries) {
                rows.push_back({p.id, p.consumer, ms_text(p.idle), std::to_string(p.deliveries)});
                json.push_back({{"id", p.id}, {"consumer", p.consumer}, {"idle_ms", p.idle.count()}, {"deliveries", p.deliveries}});
            }
            ctx.out.table({"id", "consumer", "idle", "deliveries"}, rows, json);
        } else if (group == "bus" && command == "history") {
            a.allow_only({"json", "count", "from", "to"});
            auto events = co_await bus.event_history(a.number_or("count", 100), a.option_or("from", "-"), a.option_or("to", "+"));
            std::vector<std::vector<std::string>> rows;
            boost::json::array json;
            for (auto const& e : events) {
                rows.push_back({e.message_id, e.event.event_type, e.event.stream_id, std::to_string(e.event.stream_version),
                                boost::json::serialize(e.event.payload)});
                auto o = es::to_json(e.event);
                o["message_id"] = e.message_id;
                json.push_back(std::move(o));
            }
            ctx.out.table({"message id", "type", "stream", "version", "payload"}, rows, json);
        } else if (group == "bus" && command == "replay") {
            a.allow_only({"json", "count"});
            auto const& from = a.positional(0, "FROM_ID");
            auto n = co_await bus.replay(from, a.number_or("count", 1000));
            ctx.out.line("replayed " + std::to_string(n) + " events from " + from);
            if (ctx.out.json())
                ctx.out.value(boost::json::object{{"replayed", n}});
        } else if (group == "bus" && command == "rebuild") {
            a.allow_only({"json", "from", "timeout", "yes"});
            if (ctx.group.empty())
                throw usage_error("bus rebuild needs --group NAME (the consumer group of the projection to rebuild)");
            require_yes(ctx, "rebuilding re-delivers every event to group '" + ctx.group + "' and");
            auto const from = a.option_or("from", "0");
            auto const timeout = std::chrono::milliseconds(parse_duration_ms(a.option_or("timeout", "10m")));
            auto before = co_await bus.stream_info();
            auto found = std::find_if(before.groups.begin(), before.groups.end(),
                                      [&](auto const& g) { return g.name == ctx.group; });
            if (found == before.groups.end()) {
                std::cerr << "es-admin: stream '" << before.stream << "' has no consumer group '" << ctx.group << "'\n";
                code = 1;
            } else {
                // From the start, ENTRIESREAD 0 keeps the group's lag exact (Redis 7).
                es::redis::request setid;
                if (from == "0")
                    setid.push("XGROUP", "SETID", bus.stream_name(), ctx.group, from, "ENTRIESREAD", "0");
                else
                    setid.push("XGROUP", "SETID", bus.stream_name(), ctx.group, from);
                co_await bus.redis().call(setid);
                // The group's consumers (the projection's processes) now receive everything again;
                // follow their progress through the group's lag.
                std::uint64_t const total = before.length;
                progress bar("rebuilding " + ctx.group, total);
                auto const deadline = std::chrono::steady_clock::now() + timeout;
                es::asio::steady_timer timer(co_await es::asio::this_coro::executor);
                bool done = false;
                std::uint64_t remaining = total;
                while (std::chrono::steady_clock::now() < deadline) {
                    auto info = co_await bus.stream_info();
                    for (auto const& g : info.groups)
                        if (g.name == ctx.group) {
                            remaining = g.lag.value_or(total) + g.pending;
                            done = g.lag && *g.lag == 0 && g.pending == 0;
                        }
                    bar.update(total > remaining ? total - remaining : 0);
                    if (done)
                        break;
                    timer.expires_after(std::chrono::milliseconds(200));
                    co_await timer.async_wait(es::asio::use_awaitable);
                }
                bar.finish();
                if (!done) {
                    std::cerr << "es-admin: group '" << ctx.group << "' still has " << remaining
                              << " entries to process after the timeout; is a consumer of the group running?\n";
                    code = 1;
                } else {
                    ctx.out.line("group " + ctx.group + " re-processed " + std::to_string(total) + " entries");
                    if (ctx.out.json())
                        ctx.out.value(boost::json::object{{"group", ctx.group}, {"reprocessed", total}});
                }
            }
        } else if (group == "bus" && command == "trim") {
            a.allow_only({"json", "max-len", "older-than", "yes"});
            require_yes(ctx, "trimming");
            std::int64_t removed = 0;
            if (auto n = a.option("max-len"))
                removed = co_await bus.trim(a.number_or("max-len", 0));
            else if (auto age = a.option("older-than"))
                removed = co_await bus.trim_older_than(std::chrono::milliseconds(parse_duration_ms(*age)));
            else
                throw usage_error("bus trim needs --max-len N or --older-than DURATION");
            ctx.out.line("trimmed " + std::to_string(removed) + " entries");
            if (ctx.out.json())
                ctx.out.value(boost::json::object{{"trimmed", removed}});
        } else if (group == "dlq" && command == "list") {
            a.allow_only({"json", "count"});
            auto letters = co_await bus.dlq_messages(a.number_or("count", 100));
            std::vector<std::vector<std::string>> rows;
            boost::json::array json;
            for (auto const& d : letters) {
                rows.push_back({d.message_id, d.original_id, d.group, d.event_type, std::to_string(d.retry_count),
                                d.failed_at, d.reason});
                json.push_back({{"id", d.message_id},
                                {"original_id", d.original_id},
                                {"group", d.group},
                                {"event_type", d.event_type},
                                {"retry_count", d.retry_count},
                                {"failed_at", d.failed_at},
                                {"reason", d.reason}});
            }
            ctx.out.table({"id", "original id", "group", "type", "retries", "failed at", "reason"}, rows, json);
        } else if (group == "dlq" && command == "replay") {
            a.allow_only({"json"});
            auto const& id = a.positional(0, "ID");
            bool const replayed = co_await bus.replay_dlq_message(id);
            if (!replayed) {
                std::cerr << "es-admin: no dead letter with id '" << id << "' in " << bus.dlq_stream_name() << "\n";
                code = 1;
            } else {
                ctx.out.line("replayed " + id);
                if (ctx.out.json())
                    ctx.out.value(boost::json::object{{"replayed", id}});
            }
        } else if (group == "dlq" && command == "replay-all") {
            a.allow_only({"json"});
            // One at a time so a terminal sees progress; each replay is atomic on its own.
            auto letters = co_await bus.dlq_messages(1'000'000);
            progress bar("replaying", letters.size());
            std::uint64_t done = 0;
            for (auto const& d : letters) {
                bool const replayed = co_await bus.replay_dlq_message(d.message_id);
                if (replayed)
                    ++done;
                bar.update(done);
            }
            bar.finish();
            ctx.out.line("replayed " + std::to_string(done) + " dead letters");
            if (ctx.out.json())
                ctx.out.value(boost::json::object{{"replayed", done}});
        } else if (group == "dlq" && command == "purge") {
            a.allow_only({"json", "yes"});
            require_yes(ctx, "purging the dead-letter stream");
            auto n = co_await bus.purge_dlq();
            ctx.out.line("purged " + std::to_string(n) + " dead letters");
            if (ctx.out.json())
                ctx.out.value(boost::json::object{{"purged", n}});
        } else {
            throw usage_error("unknown command '" + group + " " + command + "' (see es-admin --help)");
        }
    } catch (...) {
        failure = std::current_exception();
    }
    co_await bus.shutdown(std::chrono::milliseconds(500));
    if (failure)
        std::rethrow_exception(failure);
    co_return code;
}

}  // namespace es_admin
