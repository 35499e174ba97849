// What formatting one XADD of a stream_bus envelope costs (27 arguments, ~600 bytes): hiredis'
// two formatters, which the connection uses, against a RESP writer built on std::to_chars, the
// floor for the same bytes. Cited in docs/benchmarks.md ("Redis: publish").
#include <hiredis/hiredis.h>

#include <benchmark/benchmark.h>

#include <charconv>
#include <string>
#include <vector>

namespace {

// The shape of an envelope's XADD: key, "*", then twelve field/value pairs.
struct command {
    std::vector<std::string> args;
    std::vector<char const*> ptrs;
    std::vector<std::size_t> lens;

    command()
    {
        args = {"XADD", "events:orders", "*"};
        std::vector<std::pair<std::string, std::size_t>> const fields = {
            {"event_id", 36},   {"event_type", 12},     {"schema_version", 1}, {"stream_id", 22},
            {"aggregate_type", 5}, {"aggregate_id", 16}, {"stream_version", 2}, {"global_position", 6},
            {"occurred_at", 27}, {"recorded_at", 27},   {"metadata", 150},     {"payload", 200}};
        for (auto const& [name, size] : fields) {
            args.push_back(name);
            args.push_back(std::string(size, 'v'));
        }
        for (auto const& a : args) {
            ptrs.push_back(a.data());
            lens.push_back(a.size());
        }
    }
};

// format(argc, argv, lens, out) formats the command into `out`.
template <class Format>
void format_loop(benchmark::State& state, Format format)
{
    command const c;
    std::string out;
    for (auto _ : state) {
        format(static_cast<int>(c.args.size()), const_cast<char const**>(c.ptrs.data()), c.lens.data(), out);
        benchmark::DoNotOptimize(out.data());
    }
}

void BM_HiredisFormatCommandArgv(benchmark::State& state)
{
    format_loop(state, [](int argc, char const** argv, std::size_t const* lens, std::string& out) {
        char* formatted = nullptr;
        int const n = redisFormatCommandArgv(&formatted, argc, argv, lens);
        out.assign(formatted, static_cast<std::size_t>(n));
        redisFreeCommand(formatted);
    });
}
BENCHMARK(BM_HiredisFormatCommandArgv);

void BM_HiredisFormatSdsCommandArgv(benchmark::State& state)
{
    format_loop(state, [](int argc, char const** argv, std::size_t const* lens, std::string& out) {
        sds formatted = nullptr;
        int const n = redisFormatSdsCommandArgv(&formatted, argc, argv, lens);
        out.assign(formatted, static_cast<std::size_t>(n));
        redisFreeSdsCommand(formatted);
    });
}
BENCHMARK(BM_HiredisFormatSdsCommandArgv);

void BM_ToCharsRespWriter(benchmark::State& state)
{
    command const c;
    std::string out;
    for (auto _ : state) {
        out.clear();
        auto header = [&](char kind, std::size_t n) {
            char buf[24];
            buf[0] = kind;
            auto r = std::to_chars(buf + 1, buf + 21, n);
            *r.ptr++ = '\r';
            *r.ptr++ = '\n';
            out.append(buf, static_cast<std::size_t>(r.ptr - buf));
        };
        header('*', c.args.size());
        for (auto const& a : c.args) {
            header('$', a.size());
            out.append(a);
            out.append("\r\n", 2);
        }
        benchmark::DoNotOptimize(out.data());
    }
}
BENCHMARK(BM_ToCharsRespWriter);

}  // namespace

BENCHMARK_MAIN();
