// es-admin store ...: the PostgreSQL event store seen by an operator.
#include "commands.hpp"

#include <es/event.hpp>
#include <es/postgres/database.hpp>
#include <es/postgres/event_store.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/serialize.hpp>

#include <iostream>

namespace es_admin {

std::string store_help()
{
    return R"(store commands (PostgreSQL; --store URL or ES_STORE, --schema NAME or ES_SCHEMA, default "es"):
  store stats                                  events, streams, newest and readable positions
  store streams [--aggregate-type T] [--count N] [--after STREAM]
                                               streams with their versions
  store read STREAM [--from V] [--count N] [--backwards]
                                               one stream's events
  store read-all [--after P] [--count N] [--type T] [--aggregate-type T]
                                               the global log in order
  store tail [--after P] [--type T] [--count N]
                                               follows the global log live (Ctrl-C, or stop after N)
)";
}

namespace {

std::vector<std::string> event_row(es::event_envelope const& e)
{
    return {std::to_string(e.global_position), e.stream_id, std::to_string(e.stream_version), e.event_type,
            es::format_timestamp(e.recorded_at), boost::json::serialize(e.payload)};
}

std::vector<std::string> const event_header{"position", "stream", "version", "type", "recorded", "payload"};

void print_events(context& ctx, std::vector<es::event_envelope> const& events)
{
    std::vector<std::vector<std::string>> rows;
    boost::json::array json;
    for (auto const& e : events) {
        rows.push_back(event_row(e));
        json.push_back(es::to_json(e));
    }
    ctx.out.table(event_header, rows, json);
}

}  // namespace

es::awaitable<int> run_store_command(std::string const& command, context& ctx)
{
    if (ctx.store_url.empty() || ctx.store_url == "memory")
        throw usage_error("store commands need a PostgreSQL store: --store URL or ES_STORE");
    es::postgres::config cfg;
    cfg.conninfo = ctx.store_url;
    cfg.schema = ctx.schema;
    cfg.pool_size = 1;
    cfg.migrate = false;  // an operator's tool never changes the schema
    auto db = es::postgres::database::create(cfg);
    es::postgres::event_store store(db);
    auto& a = ctx.args;

    if (command == "stats") {
        a.allow_only({"json"});
        auto s = co_await store.statistics();
        ctx.out.table({"events", "streams", "newest position", "readable position"},
                      {{std::to_string(s.events), std::to_string(s.streams), std::to_string(s.newest_position),
                        std::to_string(s.readable_position)}},
                      boost::json::object{{"events", s.events},
                                          {"streams", s.streams},
                                          {"newest_position", s.newest_position},
                                          {"readable_position", s.readable_position}});
        co_return 0;
    }
    if (command == "streams") {
        a.allow_only({"json", "aggregate-type", "count", "after"});
        es::postgres::list_streams_options o;
        o.aggregate_type = a.option_or("aggregate-type", "");
        o.after_stream_id = a.option_or("after", "");
        o.max_count = a.number_or("count", 100);
        auto streams = co_await store.list_streams(o);
        std::vector<std::vector<std::string>> rows;
        boost::json::array json;
        for (auto const& s : streams) {
            rows.push_back({s.stream_id, s.aggregate_type, std::to_string(s.version), std::to_string(s.truncated_before),
                            s.deleted ? "yes" : "no"});
            json.push_back({{"stream_id", s.stream_id},
                            {"aggregate_type", s.aggregate_type},
                            {"version", s.version},
                            {"truncated_before", s.truncated_before},
                            {"deleted", s.deleted}});
        }
        ctx.out.table({"stream", "aggregate type", "version", "truncated before", "deleted"}, rows, json);
        co_return 0;
    }
    if (command == "read") {
        a.allow_only({"json", "from", "count", "backwards"});
        auto const& stream = a.positional(0, "STREAM");
        es::read_stream_options o;
        o.direction = a.flag("backwards") ? es::read_direction::backwards : es::read_direction::forwards;
        o.from_version = a.number_or("from", o.direction == es::read_direction::backwards ? 0 : 1);
        o.max_count = a.number_or("count", 1000);
        auto events = co_await store.read_stream(stream, o);
        bool const exists = !events.empty() || co_await store.stream_exists(stream);
        if (!exists) {
            std::cerr << "es-admin: stream '" << stream << "' does not exist in " << db->server() << "\n";
            co_return 1;
        }
        print_events(ctx, events);
        co_return 0;
    }
    if (command == "read-all") {
        a.allow_only({"json", "after", "count", "type", "aggregate-type"});
        es::read_all_options o;
        o.after_position = a.number_or("after", 0);
        o.max_count = a.number_or("count", 1000);
        if (auto t = a.option("type"))
            o.event_types = {*t};
        if (auto t = a.option("aggregate-type"))
            o.aggregate_types = {*t};
        auto events = co_await store.read_all(o);
        print_events(ctx, events);
        co_return 0;
    }
    if (command == "tail") {
        a.allow_only({"json", "after", "count", "type"});
        es::read_all_options o;
        o.after_position = a.number_or("after", 0);
        if (!a.option("after")) {
            // Start at the end: only what is appended from now on.
            auto s = co_await store.statistics();
            o.after_position = s.readable_position;
        }
        if (auto t = a.option("type"))
            o.event_types = {*t};
        std::uint64_t const limit = a.number_or("count", 0);
        std::uint64_t printed = 0;
        es::asio::steady_timer timer(co_await es::asio::this_coro::executor);
        for (;;) {
            auto events = co_await store.read_all(o);
            for (auto const& e : events) {
                if (ctx.out.json())
                    ctx.out.value(es::to_json(e));
                else {
                    auto r = event_row(e);
                    std::cout << r[0] << "  " << r[1] << " #" << r[2] << "  " << r[3] << "  " << r[5] << "\n";
                }
                std::cout.flush();
                o.after_position = e.global_position;
                if (limit > 0 && ++printed >= limit)
                    co_return 0;
            }
            if (events.empty()) {
                timer.expires_after(std::chrono::milliseconds(200));
                co_await timer.async_wait(es::asio::use_awaitable);
            }
        }
    }
    throw usage_error("unknown store command '" + command + "' (see es-admin --help)");
}

}  // namespace es_admin
