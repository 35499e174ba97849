// Throughput of the PostgreSQL event store. Prints one JSON object per figure:
//   {"name": "append_1ev_1stream", "value": 1234.5, "unit": "events/s", ...}
// scripts/bench-postgres.sh runs it against a fresh server and puts pgbench beside it.
//
// Usage: bench_postgres [--seconds N] [--schema NAME] [--append PER_CALL WRITERS | --appends-only |
//                       --no-appends | --read-all-only] [--no-notify]
// Connection: ES_TEST_PG_CONNINFO, else libpq's PG* variables.
#include <es/aggregate.hpp>
#include <es/event_registry.hpp>
#include <es/postgres/event_store.hpp>
#include <es/postgres/snapshot_store.hpp>
#include <es/repository.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/describe/class.hpp>
#include <boost/json/serialize.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace bench {

using namespace std::chrono;
namespace asio = boost::asio;

struct item_added {
    static constexpr std::string_view event_type = "ItemAdded";
    std::string sku;
    long long quantity = 0;
    long long price_cents = 0;
    std::string note;
};
BOOST_DESCRIBE_STRUCT(item_added, (), (sku, quantity, price_cents, note))

using cart_event = std::variant<item_added>;

class cart : public es::aggregate<cart, cart_event> {
public:
    static constexpr std::string_view aggregate_type = "cart";
    explicit cart(std::string id) : aggregate(std::move(id)) {}
    boost::json::value snapshot_state() const { return {{"items", items_}, {"total", total_}}; }
    void restore_snapshot(boost::json::value const& v)
    {
        items_ = v.at("items").to_number<long long>();
        total_ = v.at("total").to_number<long long>();
    }
    long long items() const { return items_; }

private:
    friend class es::aggregate<cart, cart_event>;
    void apply(item_added const& e)
    {
        items_ += e.quantity;
        total_ += e.quantity * e.price_cents;
    }
    long long items_ = 0;
    long long total_ = 0;
};

// ~200 bytes of payload and ~100 bytes of metadata, like the pgbench script's rows.
es::new_event make_event(int n)
{
    es::new_event e;
    e.event_type = "ItemAdded";
    e.aggregate_type = "cart";
    e.aggregate_id = "bench";
    e.payload = {{"sku", "SKU-" + std::to_string(100000 + n % 900000)},
                 {"quantity", 1 + n % 5},
                 {"price_cents", 1299},
                 {"note", "gift wrap please, deliver to the back door; thank you for the quick service!! Ring twice; if nobody answers, leave it with the neighbour at number 12."}};
    e.metadata.correlation_id = "3f2c1a9e-5d7b-4c2a-9e1f-0a1b2c3d4e5f";
    e.metadata.causation_id = "7d9e8f0a-1b2c-4d3e-8f9a-0b1c2d3e4f5a";
    e.metadata.tenant_id = "tenant-1";
    return e;
}

void emit(std::string const& name, double value, std::string const& unit, std::string const& extra = "")
{
    std::printf("{\"name\": \"%s\", \"value\": %.3f, \"unit\": \"%s\"%s}\n", name.c_str(), value, unit.c_str(),
                extra.c_str());
    std::fflush(stdout);
}

// Runs fn on an io_context with `threads` threads until it completes.
void run(std::function<es::awaitable<void>()> fn, int threads = 2)
{
    asio::io_context ioc;
    std::exception_ptr failure;
    asio::co_spawn(ioc, fn(), [&](std::exception_ptr e) { failure = e; });
    std::vector<std::thread> extra;
    for (int i = 1; i < threads; ++i)
        extra.emplace_back([&] { ioc.run(); });
    ioc.run();
    for (auto& t : extra)
        t.join();
    if (failure)
        std::rethrow_exception(failure);
}

// `writers` coroutines append `per_call` events per call to streams of their own for `seconds`.
double append_rate(es::postgres::event_store& store, std::string const& prefix, int writers, int per_call,
                   double seconds)
{
    std::atomic<long> events{0};
    auto const deadline = steady_clock::now() + duration_cast<steady_clock::duration>(duration<double>(seconds));
    auto const t0 = steady_clock::now();
    run([&]() -> es::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        std::atomic<int> remaining{writers};
        for (int w = 0; w < writers; ++w)
            asio::co_spawn(
                ex,
                [&, w]() -> es::awaitable<void> {
                    auto const stream = prefix + "-" + std::to_string(w);
                    std::uint64_t version = 0;
                    int n = 0;
                    while (steady_clock::now() < deadline) {
                        std::vector<es::new_event> batch;
                        for (int i = 0; i < per_call; ++i)
                            batch.push_back(make_event(n++));
                        auto r = co_await store.append(stream, es::expected_version::exactly(version), std::move(batch));
                        version = r.stream_version;
                        events += per_call;
                    }
                },
                [&](std::exception_ptr e) {
                    if (e)
                        std::rethrow_exception(e);
                    --remaining;
                });
        asio::steady_timer timer(ex);
        while (remaining.load() > 0) {
            timer.expires_after(milliseconds(5));
            co_await timer.async_wait(asio::use_awaitable);
        }
    });
    return static_cast<double>(events.load()) / duration<double>(steady_clock::now() - t0).count();
}

template <class Fn>
double median_seconds(int runs, Fn fn)
{
    std::vector<double> t;
    for (int i = 0; i < runs; ++i) {
        auto const t0 = steady_clock::now();
        fn();
        t.push_back(duration<double>(steady_clock::now() - t0).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

// Brings `schema`.events to `target` rows with COPY (10 events per stream, the same payload and
// metadata shape as make_event), in chunks of a million so that progress shows.
void bulk_load(es::postgres::database& db, long long target)
{
    auto const q = db.quoted_schema();
    for (;;) {
        long long const have = [&] {
            long long n = 0;
            run([&]() -> es::awaitable<void> {
                n = co_await db.run("count", [&](pqxx::connection& c) {
                    pqxx::nontransaction tx(c);
                    return tx.exec("SELECT count(*) FROM " + q + ".events")[0][0].as<long long>();
                });
            });
            return n;
        }();
        if (have >= target)
            return;
        long long const chunk = std::min(target - have, 1000000LL);
        std::fprintf(stderr, "bulk load (COPY): %lld -> %lld events\n", have, have + chunk);
        run([&]() -> es::awaitable<void> {
            co_await db.run("bulk load", [&](pqxx::connection& c) {
                {
                    pqxx::work tx(c);
                    tx.exec("SET LOCAL statement_timeout = 0");
                    // stream_to quotes the table name as one identifier: name the schema through
                    // the search path instead.
                    tx.exec("SET LOCAL search_path TO " + q);
                    std::vector<std::string> const columns{"stream_id", "stream_version", "event_id", "event_type",
                                                           "schema_version", "aggregate_type", "aggregate_id",
                                                           "tenant_id", "payload", "metadata", "occurred_at"};
                    pqxx::stream_to copy(tx, "events", columns);
                    std::string const metadata =
                        R"({"correlation_id": "3f2c1a9e-5d7b-4c2a-9e1f-0a1b2c3d4e5f", "causation_id": )"
                        R"("7d9e8f0a-1b2c-4d3e-8f9a-0b1c2d3e4f5a", "tenant_id": "tenant-1"})";
                    for (long long g = have; g < have + chunk; ++g) {
                        std::string payload = R"({"sku": "SKU-)" + std::to_string(100000 + g % 900000) +
                                              R"(", "quantity": )" + std::to_string(1 + g % 5) +
                                              R"(, "price_cents": 1299, "note": "gift wrap please, deliver to the )"
                                              R"(back door; thank you for the quick service!! Ring twice; if nobody )"
                                              R"(answers, leave it with the neighbour at number 12."})";
                        copy << std::make_tuple("bulk-" + std::to_string(g / 10), g % 10 + 1,
                                                to_string(es::new_event_id()), std::string("ItemAdded"), 1,
                                                std::string("cart"), std::string("bench"), std::string("tenant-1"),
                                                payload, metadata, std::string("2026-01-01T00:00:00Z"));
                    }
                    copy.complete();
                    tx.commit();
                }
                pqxx::nontransaction tx(c);
                tx.exec("VACUUM ANALYZE " + q + ".events");
                // Write the load's dirty pages now: otherwise the checkpoint that follows it lands
                // in the measurement of the appends.
                tx.exec("CHECKPOINT");
            });
        });
    }
}

// p50 of one-event appends by one writer (10 streams in turn) and the median time to read a
// 100-event stream, with `size` events in the table.
void growth_point(es::postgres::database& db, es::postgres::event_store& store, long long size, int appends,
                  std::string const& tag)
{
    bulk_load(db, size);
    std::vector<double> latencies;
    std::string const prefix = "growth-" + std::to_string(size) + "-" + tag;
    run([&]() -> es::awaitable<void> {
        std::vector<std::uint64_t> versions(10, 0);
        int const warm_up = appends / 10;  // not measured: brings the indexes' hot pages in
        for (int i = 0; i < warm_up + appends; ++i) {
            std::vector<es::new_event> batch{make_event(i)};
            auto const t0 = steady_clock::now();
            auto r = co_await store.append(prefix + "-" + std::to_string(i % 10),
                                           es::expected_version::exactly(versions[i % 10]), std::move(batch));
            if (i >= warm_up)
                latencies.push_back(duration<double, std::micro>(steady_clock::now() - t0).count());
            versions[i % 10] = r.stream_version;
        }
        std::vector<es::new_event> hundred;
        for (int i = 0; i < 100; ++i)
            hundred.push_back(make_event(i));
        co_await store.append(prefix + "-read", es::expected_version::no_stream(), std::move(hundred));
    }, 1);
    std::sort(latencies.begin(), latencies.end());
    emit("growth_append_p50_" + std::to_string(size), latencies[latencies.size() / 2], "us",
         ", \"events_in_table\": " + std::to_string(size) + ", \"p99\": " +
             std::to_string(latencies[latencies.size() * 99 / 100]));
    auto const t_read = median_seconds(21, [&] {
        run([&]() -> es::awaitable<void> { (void)co_await store.read_stream(prefix + "-read"); }, 1);
    });
    emit("growth_read_stream_100_" + std::to_string(size), t_read * 1000, "ms",
         ", \"events_in_table\": " + std::to_string(size));
}

int main(int argc, char** argv)
{
    double seconds = 5;
    std::string schema = "bench";
    bool notify = true;
    bool appends_only = false;
    bool read_all_only = false;
    bool no_appends = false;
    int only_per_call = 0, only_writers = 0;
    int group_writers = 0;
    std::vector<long long> growth;
    int growth_appends = 2000;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = std::atof(argv[++i]);
        else if (!std::strcmp(argv[i], "--schema") && i + 1 < argc)
            schema = argv[++i];
        else if (!std::strcmp(argv[i], "--no-notify"))
            notify = false;
        else if (!std::strcmp(argv[i], "--appends-only"))
            appends_only = true;
        else if (!std::strcmp(argv[i], "--read-all-only"))
            read_all_only = true;
        else if (!std::strcmp(argv[i], "--append") && i + 2 < argc) {  // --append <events per call> <writers>
            only_per_call = std::atoi(argv[++i]);
            only_writers = std::atoi(argv[++i]);
        } else if (!std::strcmp(argv[i], "--group-commit") && i + 1 < argc) {  // --group-commit <writers>
            group_writers = std::atoi(argv[++i]);
        } else if (!std::strcmp(argv[i], "--growth") && i + 1 < argc) {  // --growth 100000,1000000
            for (char* t = std::strtok(argv[++i], ","); t; t = std::strtok(nullptr, ","))
                growth.push_back(std::atoll(t));
        } else if (!std::strcmp(argv[i], "--growth-appends") && i + 1 < argc) {
            growth_appends = std::atoi(argv[++i]);
        } else if (!std::strcmp(argv[i], "--no-appends"))
            no_appends = true;
    }
    es::postgres::config cfg;
    if (char const* c = std::getenv("ES_TEST_PG_CONNINFO"))
        cfg.conninfo = c;
    cfg.schema = schema;
    cfg.pool_size = 16;
    cfg.notify = notify;
    cfg.group_commit.enabled = group_writers > 0;
    if (char const* v = std::getenv("ES_BENCH_GROUP_IN_FLIGHT"))
        cfg.group_commit.max_in_flight = static_cast<std::size_t>(std::atoi(v));
    auto db = es::postgres::database::create(cfg);
    es::postgres::event_store store(db);
    es::postgres::snapshot_store snapshots(db);
    run([&]() -> es::awaitable<void> { co_await db->migrate(); });
    auto measure_read_all = [&] {
    // The whole log, page by page, as a catch-up reader would read it.
        std::size_t total = 0;
        auto const t_all = median_seconds(3, [&] {
            run([&]() -> es::awaitable<void> {
                es::read_all_options o;
                o.max_count = 1000;
                total = 0;
                for (;;) {
                    auto page = co_await store.read_all(o);
                    if (page.empty())
                        break;
                    total += page.size();
                    o.after_position = page.back().global_position;
                }
            }, 1);
        });
        emit("read_all", static_cast<double>(total) / t_all, "events/s", ", \"events\": " + std::to_string(total));
    };
    if (read_all_only) {
        measure_read_all();
        return 0;
    }
    auto const tag = std::to_string(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
    if (group_writers > 0) {  // many writers, one event each, batched into shared transactions
        auto const name = "append_1ev_" + std::to_string(group_writers) + "streams_group_commit";
        auto rate = append_rate(store, name + "-" + tag, group_writers, 1, seconds);
        emit(name, rate, "events/s", ", \"events_per_call\": 1, \"writers\": " + std::to_string(group_writers));
        return 0;
    }
    if (!growth.empty()) {
        for (auto size : growth)
            growth_point(*db, store, size, growth_appends, tag);
        return 0;
    }

    for (int per_call : {1, 10})
        for (int writers : {1, 16}) {
            if (no_appends || (only_per_call != 0 && (per_call != only_per_call || writers != only_writers)))
                continue;
            auto const name = "append_" + std::to_string(per_call) + "ev_" + std::to_string(writers) + "streams";
            auto rate = append_rate(store, name + "-" + tag, writers, per_call, seconds);
            emit(name, rate, "events/s",
                 ", \"events_per_call\": " + std::to_string(per_call) + ", \"writers\": " + std::to_string(writers));
        }

    if (appends_only || only_per_call != 0)
        return 0;

    // A 10,000-event aggregate stream.
    std::string const cart_id = "big-" + tag;
    cart probe(cart_id);
    auto const stream = probe.stream_id();
    run([&]() -> es::awaitable<void> {
        for (int b = 0; b < 100; ++b) {
            std::vector<es::new_event> batch;
            for (int i = 0; i < 100; ++i)
                batch.push_back(make_event(b * 100 + i));
            co_await store.append(stream, es::expected_version::exactly(static_cast<std::uint64_t>(b) * 100),
                                  std::move(batch));
        }
    });
    std::size_t read = 0;
    auto const t_read = median_seconds(5, [&] {
        run([&]() -> es::awaitable<void> { read = (co_await store.read_stream(stream)).size(); }, 1);
    });
    emit("read_stream_10k", static_cast<double>(read) / t_read, "events/s",
         ", \"ms\": " + std::to_string(t_read * 1000));

    es::event_registry registry;
    registry.add_all<cart_event>();
    es::repository<cart> plain(store, registry);
    long long items = 0;
    auto const t_plain = median_seconds(5, [&] {
        run([&]() -> es::awaitable<void> { items = (co_await plain.load(cart_id)).items(); }, 1);
    });
    emit("aggregate_load_10k_no_snapshot", t_plain * 1000, "ms", ", \"items\": " + std::to_string(items));
    run([&]() -> es::awaitable<void> {
        auto agg = co_await plain.load(cart_id);
        es::snapshot s{stream, "cart", agg.version(), 1, agg.snapshot_state(), es::now()};
        co_await snapshots.save(std::move(s));
    });
    es::repository<cart> with_snapshots(store, registry, nullptr, &snapshots);
    auto const t_snap = median_seconds(5, [&] {
        run([&]() -> es::awaitable<void> { items = (co_await with_snapshots.load(cart_id)).items(); }, 1);
    });
    emit("aggregate_load_10k_snapshot", t_snap * 1000, "ms", ", \"items\": " + std::to_string(items));

    measure_read_all();
    return 0;
}

}  // namespace bench

int main(int argc, char** argv)
{
    try {
        return bench::main(argc, argv);
    } catch (std::exception const& e) {
        std::fprintf(stderr, "bench_postgres: %s\n", e.what());
        return 1;
    }
}
