// In-memory hot paths: a command through the whole in-process pipeline, and aggregate replay.
//   command: load (in memory) -> command -> event -> apply -> append -> publish -> projection
//   replay:  apply N stored events to a fresh aggregate (decode included, and without it)
#include "domain/order.hpp"
#include "projections/order_summary.hpp"

#include <es/in_memory_event_bus.hpp>
#include <es/in_memory_event_store.hpp>
#include <es/repository.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

namespace {

using namespace orders;

// Runs `n` commands inside one coroutine so the figure is the framework's, not co_spawn's.
void BM_CommandToProjection(benchmark::State& state)
{
    auto registry = make_order_registry();
    for (auto _ : state) {
        state.PauseTiming();
        // Built and destroyed outside the timed region: tearing down 10,000 stored events is not
        // part of a command's cost.
        auto store = std::make_unique<es::in_memory_event_store>();
        auto bus = std::make_unique<es::in_memory_event_bus>();
        auto summary = std::make_shared<order_summary_projection>(registry);
        bus->subscribe(summary);
        es::repository<order> repo(*store, registry, bus.get());
        boost::asio::io_context ioc;
        std::int64_t const n = state.range(0);
        state.ResumeTiming();
        boost::asio::co_spawn(
            ioc,
            [&]() -> es::awaitable<void> {
                for (std::int64_t i = 0; i < n; ++i) {
                    order o("o-" + std::to_string(i));
                    o.place("c-1", {order_line{"A", 2, 10.5}});
                    co_await repo.save(o);
                }
            },
            boost::asio::detached);
        ioc.run();
        benchmark::DoNotOptimize(summary->size());
        state.PauseTiming();
        store.reset();
        bus.reset();
        summary.reset();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
    state.counters["ns_per_command"] =
        benchmark::Counter(static_cast<double>(state.iterations() * state.range(0)),
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert, benchmark::Counter::kIs1000);
}
BENCHMARK(BM_CommandToProjection)->Arg(10000)->Unit(benchmark::kMillisecond);

std::vector<order_event> history(std::size_t n)
{
    std::vector<order_event> events{order_placed{"c-1", {order_line{"A", 1, 1}}}};
    for (std::size_t i = 1; i < n; ++i)
        events.push_back(i % 2 ? order_event(order_paid{1, "p"}) : order_event(order_cancelled{"r"}));
    return events;
}

// Replay of already decoded events: the aggregate's apply path alone.
void BM_ReplayDecoded(benchmark::State& state)
{
    auto events = history(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        order o("o-1");
        o.load_from_history(events);
        benchmark::DoNotOptimize(o.version());
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ReplayDecoded)->Arg(10000);

// Replay from stored envelopes: JSON decode + apply, what a repository load does per event.
void BM_ReplayFromEnvelopes(benchmark::State& state)
{
    auto registry = make_order_registry();
    std::vector<es::event_envelope> stored;
    std::uint64_t v = 0;
    for (auto const& e : history(static_cast<std::size_t>(state.range(0)))) {
        ++v;
        stored.push_back(es::make_envelope(es::event_registry::encode(e), "order-o-1", v, v, es::now()));
    }
    for (auto _ : state) {
        order o("o-1");
        for (auto const& env : stored)
            o.apply_stored(registry.decode<order_event>(env), env.stream_version);
        benchmark::DoNotOptimize(o.version());
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ReplayFromEnvelopes)->Arg(10000);

}  // namespace

BENCHMARK_MAIN();
