// Figures for docs/benchmarks.md (scripts/bench-redis.sh runs this next to redis-benchmark):
//   xadd <port> <coroutines> <seconds>     pipelined XADD of 200-byte payloads through exec()
//   raw <port> <events>                    publishes N bench events, then a raw XREADGROUP COUNT 100 + XACK loop
//   e2e <port> <events> <consumers>        stream_bus publish -> handler -> ack
//   latency <port> <rate> <seconds>        publish-to-handler latency at a fixed publish rate
//   fields <port>                          prints a published envelope's stream fields, NUL-separated
//                                          (for redis-benchmark to XADD exactly the same entry)
//   feed <port> <prefix> <events>          publishes events to the bus under prefix (batches of 100)
//   memory <port> <prefix> <events>        a stream_bus consumer of those events, sampling its RSS
// Prints one "key=value" line per figure.
#include <es/redis/client/connection.hpp>
#include <es/redis/bus/stream_bus.hpp>
#include <es/redis/client/streams.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using es::awaitable;

namespace {
std::uint16_t port_ = 6379;

es::redis::config make_config()
{
    es::redis::config c;
    c.port = port_;
    c.command_timeout = 60s;
    return c;
}

es::redis::stream_bus_config bus_config(std::string prefix)
{
    es::redis::stream_bus_config c;
    c.redis_url = "redis://127.0.0.1:" + std::to_string(port_);
    c.connection = make_config();
    c.stream_prefix = std::move(prefix);
    c.consumer_group = "bench";
    c.block_time = 100ms;
    c.recovery_interval = 0ms;
    return c;
}

std::string unique(std::string const& p)
{
    return p + "-" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
}

awaitable<void> sleep_for(clock_type::duration d)
{
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

awaitable<void> xadd_bench(int coroutines, int seconds)
{
    auto ex = co_await asio::this_coro::executor;
    auto conn = std::make_shared<es::redis::connection>(ex, make_config());
    asio::co_spawn(ex, conn->run(), asio::detached);
    auto key = unique("bench-xadd");
    std::string payload(200, 'x');
    std::atomic<long> done{0};
    bool stop = false;
    auto deadline = clock_type::now() + std::chrono::seconds(seconds);
    int running = coroutines;
    for (int i = 0; i < coroutines; ++i) {
        asio::co_spawn(
            ex,
            [&]() -> awaitable<void> {
                es::redis::request req;
                req.push("XADD", key, "*", "payload", payload);
                while (!stop) {
                    co_await conn->exec(req);
                    ++done;
                }
            },
            [&](std::exception_ptr) { --running; });
    }
    auto start = clock_type::now();
    co_await sleep_for(deadline - start);
    stop = true;
    auto elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
    while (running > 0)
        co_await sleep_for(1ms);
    auto s = conn->stats();
    std::printf("xadd_ops_per_sec=%.0f\nxadd_coroutines=%d\nxadd_commands_per_write=%.1f\n", done / elapsed, coroutines,
                double(s.commands_sent) / double(std::max<std::uint64_t>(s.writes, 1)));
    es::redis::request del;
    del.push("DEL", key);
    co_await conn->exec(del);
    conn->cancel();
}

es::event_envelope bench_event(int n)
{
    es::new_event e;
    e.event_type = "BenchEvent";
    e.aggregate_type = "bench";
    e.aggregate_id = "b-" + std::to_string(n % 100);
    // About 200 bytes of payload and 140 of metadata, like the PostgreSQL benchmarks' events.
    e.payload = {{"n", n}, {"pad", std::string(180, 'p')}};
    e.metadata.correlation_id = "3f2c1a9e-5d7b-4c2a-9e1f-0a1b2c3d4e5f";
    e.metadata.causation_id = "7d9e8f0a-1b2c-4d3e-8f9a-0b1c2d3e4f5a";
    e.metadata.tenant_id = "tenant-1";
    return es::make_envelope(e, "bench-" + std::to_string(n % 100), 1, static_cast<std::uint64_t>(n), es::now());
}

// A consumer written directly against the client: XREADGROUP COUNT 100, then one XACK per batch,
// over the same entries as the bus (12 fields, ~650 bytes).
awaitable<void> raw_bench(int events)
{
    auto ex = co_await asio::this_coro::executor;
    auto cfg = make_config();
    cfg.allow_blocking = true;
    auto conn = std::make_shared<es::redis::connection>(ex, cfg);
    asio::co_spawn(ex, conn->run(), asio::detached);
    // The same entries the bus reads in e2e_bench: bench_event()s written by stream_bus::publish.
    es::redis::stream_bus filler(bus_config(unique("bench-raw")));
    for (int i = 0; i < events; i += 100) {
        std::vector<es::event_envelope> batch;
        for (int j = i; j < std::min(events, i + 100); ++j)
            batch.push_back(bench_event(j));
        co_await filler.publish(batch);
    }
    auto key = filler.stream_name();
    co_await es::redis::xgroup_create(*conn, key, "g", "0");
    auto start = clock_type::now();
    int consumed = 0;
    while (consumed < events) {
        es::redis::xreadgroup_options o;
        o.count = 100;
        o.block = 100ms;
        auto msgs = co_await es::redis::xreadgroup(*conn, "g", "c", key, ">", o);
        if (msgs.empty())
            continue;
        std::vector<std::string> ids;
        for (auto const& e : msgs.front().entries)
            ids.push_back(e.id);
        consumed += static_cast<int>(ids.size());
        co_await es::redis::xack(*conn, key, "g", ids);
    }
    auto elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
    std::printf("raw_loop_events_per_sec=%.0f\n", events / elapsed);
    es::redis::request del;
    del.push("DEL", key);
    co_await conn->exec(del);
    conn->cancel();
    co_await filler.shutdown(std::chrono::milliseconds(0));
}

awaitable<void> e2e_bench(int events, int consumers)
{
    auto prefix = unique("bench-e2e");
    es::redis::stream_bus publisher(bus_config(prefix));
    // Publish first in batches of 100 (one round trip each), timed separately. The envelopes are
    // made before the clock starts, as redis-benchmark's command is.
    std::vector<std::vector<es::event_envelope>> batches;
    for (int i = 0; i < events; i += 100) {
        auto& batch = batches.emplace_back();
        for (int j = i; j < std::min(events, i + 100); ++j)
            batch.push_back(bench_event(j));
    }
    auto p0 = clock_type::now();
    for (auto const& batch : batches)
        co_await publisher.publish(batch);
    batches.clear();
    auto publish_s = std::chrono::duration<double>(clock_type::now() - p0).count();
    std::atomic<int> handled{0};
    std::vector<std::unique_ptr<es::redis::stream_bus>> buses;
    for (int c = 0; c < consumers; ++c) {
        auto cfg = bus_config(prefix);
        cfg.consumer_name = "consumer-" + std::to_string(c);
        auto bus = std::make_unique<es::redis::stream_bus>(cfg);
        bus->subscribe("BenchEvent", [&](es::event_envelope const&) -> awaitable<void> {
            ++handled;
            co_return;
        });
        buses.push_back(std::move(bus));
    }
    auto start = clock_type::now();
    for (auto& b : buses)
        co_await b->start();
    while (handled < events)
        co_await sleep_for(1ms);
    auto elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
    std::printf("publish_batched_events_per_sec=%.0f\ne2e_consumers=%d\ne2e_events_per_sec=%.0f\n", events / publish_s,
                consumers, events / elapsed);
    for (auto& b : buses)
        co_await b->shutdown(2s);
    co_await es::redis::xtrim_maxlen(publisher.redis(), publisher.stream_name(), 0, false);
    co_await publisher.shutdown(1s);
}

// Owns its batch for as long as the publish runs (publish() takes a span).
awaitable<void> publish_owned(es::redis::stream_bus& bus, std::vector<es::event_envelope> batch)
{
    co_await bus.publish(batch);
}

awaitable<void> latency_bench(int rate, int seconds)
{
    auto prefix = unique("bench-latency");
    es::redis::stream_bus bus(bus_config(prefix));
    std::vector<double> samples;
    samples.reserve(static_cast<std::size_t>(rate * seconds));
    bus.subscribe("BenchEvent", [&](es::event_envelope const& e) -> awaitable<void> {
        auto sent = e.payload.at("sent_ns").to_number<std::int64_t>();
        auto now_ns = clock_type::now().time_since_epoch().count();
        samples.push_back(double(now_ns - sent) / 1000.0);
        co_return;
    });
    co_await bus.start();
    // Open loop: each event is published at its scheduled time by a coroutine of its own, whether
    // or not earlier publishes have been answered, and carries that scheduled time, so that a
    // stall shows as latency instead of slowing the load (no coordinated omission).
    auto ex = co_await asio::this_coro::executor;
    bool failed = false;
    auto interval = std::chrono::nanoseconds(1'000'000'000 / rate);
    auto next = clock_type::now();
    auto const started = next;
    int total = rate * seconds;
    for (int i = 0; i < total && !failed; ++i) {
        auto e = bench_event(i);
        e.payload["sent_ns"] = next.time_since_epoch().count();
        std::vector<es::event_envelope> batch{std::move(e)};
        asio::co_spawn(ex, publish_owned(bus, std::move(batch)), [&failed](std::exception_ptr p) {
            if (p)
                failed = true;
        });
        next += interval;
        auto now = clock_type::now();
        if (next > now)
            co_await sleep_for(next - now);
    }
    auto const achieved = total / std::chrono::duration<double>(clock_type::now() - started).count();
    while (samples.size() < static_cast<std::size_t>(total) && !failed)
        co_await sleep_for(1ms);
    if (failed)
        throw std::runtime_error("latency benchmark: a publish failed");
    std::sort(samples.begin(), samples.end());
    auto at = [&](double q) { return samples[static_cast<std::size_t>(q * double(samples.size() - 1))]; };
    std::printf("latency_achieved_rate=%.0f\n", achieved);
    std::printf("latency_rate=%d\nlatency_p50_us=%.0f\nlatency_p99_us=%.0f\nlatency_p999_us=%.0f\nlatency_max_us=%.0f\n",
                rate, at(0.5), at(0.99), at(0.999), samples.back());
    co_await es::redis::xtrim_maxlen(bus.redis(), bus.stream_name(), 0, false);
    co_await bus.shutdown(1s);
}
// The fields stream_bus::publish writes for one bench event, read back from the server.
awaitable<void> print_fields()
{
    auto prefix = unique("bench-fields");
    es::redis::stream_bus bus(bus_config(prefix));
    std::vector<es::event_envelope> one{bench_event(1)};
    co_await bus.publish(one);
    auto entries = co_await es::redis::xrange(bus.redis(), bus.stream_name(), "-", "+", 1);
    for (auto const& [field, value] : entries.at(0).fields) {
        std::fwrite(field.data(), 1, field.size() + 1, stdout);  // with the terminating NUL
        std::fwrite(value.data(), 1, value.size() + 1, stdout);
    }
    co_await es::redis::xtrim_maxlen(bus.redis(), bus.stream_name(), 0, false);
    co_await bus.shutdown(1s);
}

// The memory benchmark's publisher: a process of its own, so that the consumer's RSS is its own.
awaitable<void> feed(std::string prefix, int events)
{
    es::redis::stream_bus publisher(bus_config(std::move(prefix)));
    for (int i = 0; i < events; i += 100) {
        std::vector<es::event_envelope> batch;
        for (int j = i; j < std::min(events, i + 100); ++j)
            batch.push_back(bench_event(j));
        co_await publisher.publish(batch);
    }
    co_await publisher.shutdown(1s);
}

// KiB from a "VmRSS:" or "VmHWM:" line of /proc/self/status.
long status_kib(std::string const& field)
{
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field + ":", 0) == 0)
            return std::atol(line.c_str() + field.size() + 1);
    return -1;
}

// A consumer like a service's: stream_bus, one subscription that reads the payload, acks.
// Samples its RSS twenty times over the run; warm-up is the first tenth of the events.
awaitable<void> memory_bench(std::string prefix, int events)
{
    es::redis::stream_bus bus(bus_config(std::move(prefix)));
    int handled = 0;
    std::int64_t checksum = 0;
    bus.subscribe("BenchEvent", [&](es::event_envelope const& e) -> awaitable<void> {
        checksum += e.payload.at("n").to_number<std::int64_t>();
        ++handled;
        co_return;
    });
    auto const start = clock_type::now();
    // A publisher that died must not leave this waiting forever.
    auto const deadline = start + std::chrono::seconds(60 + events / 1000);
    co_await bus.start();
    int const step = std::max(1, events / 20);
    int const warm_up = std::max(1, events / 10);
    long rss_after_warm_up = -1;
    std::string samples;
    for (int next = step; handled < events || next <= events;) {
        if (handled >= next) {
            auto const rss = status_kib("VmRSS");
            if (rss_after_warm_up < 0 && next >= warm_up)
                rss_after_warm_up = rss;
            samples += (samples.empty() ? "" : ",") + std::to_string(next) + ":" + std::to_string(rss);
            next += step;
            continue;
        }
        if (clock_type::now() > deadline)
            throw std::runtime_error("memory benchmark: only " + std::to_string(handled) + " of " +
                                     std::to_string(events) + " events arrived before the deadline");
        co_await sleep_for(2ms);
    }
    auto const elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
    std::printf("memory_events=%d\nmemory_events_per_sec=%.0f\nmemory_rss_after_warm_up_kib=%ld\n"
                "memory_rss_end_kib=%ld\nmemory_peak_rss_kib=%ld\nmemory_samples=%s\nmemory_checksum=%lld\n",
                handled, handled / elapsed, rss_after_warm_up, status_kib("VmRSS"), status_kib("VmHWM"),
                samples.c_str(), static_cast<long long>(checksum));
    co_await es::redis::xtrim_maxlen(bus.redis(), bus.stream_name(), 0, false);
    co_await bus.shutdown(2s);
}
}  // namespace

int main(int argc, char** argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s xadd|raw|e2e|latency|feed|memory <port> [args]\n", argv[0]);
        return 2;
    }
    spdlog::set_level(spdlog::level::warn);
    std::string mode = argv[1];
    port_ = static_cast<std::uint16_t>(std::atoi(argv[2]));
    auto arg = [&](int i, int def) { return argc > i ? std::atoi(argv[i]) : def; };
    asio::io_context ioc(1);
    awaitable<void> task = mode == "xadd"      ? xadd_bench(arg(3, 16), arg(4, 3))
                           : mode == "raw"     ? raw_bench(arg(3, 100000))
                           : mode == "e2e"     ? e2e_bench(arg(3, 100000), arg(4, 1))
                           : mode == "latency" ? latency_bench(arg(3, 1000), arg(4, 3))
                           : mode == "fields"  ? print_fields()
                           : mode == "feed"    ? feed(argc > 3 ? argv[3] : "bench-memory", arg(4, 1'000'000))
                           : mode == "memory"  ? memory_bench(argc > 3 ? argv[3] : "bench-memory", arg(4, 1'000'000))
                                               : throw std::invalid_argument("unknown mode " + mode);
    int rc = 0;
    asio::co_spawn(ioc, std::move(task), [&](std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (std::exception const& ex) {
                std::fprintf(stderr, "benchmark failed: %s\n", ex.what());
            }
            rc = 1;
        }
        ioc.stop();
    });
    ioc.run();
    return rc;
}
