// Runs the fuzz target without libFuzzer (g++ builds): every corpus file, then a deterministic
// mutation loop over them (bit flips, byte insertions and deletions, splices, RESP tokens) for a
// bounded number of iterations. The clang/libFuzzer build of the same target explores far more;
// this one keeps the target compiling and catches regressions on every build.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size);

namespace {
void run(std::string const& s)
{
    LLVMFuzzerTestOneInput(reinterpret_cast<std::uint8_t const*>(s.data()), s.size());
}
}  // namespace

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s <corpus dir> [iterations]\n", argv[0]);
        return 2;
    }
    long iterations = argc > 2 ? std::atol(argv[2]) : 200000;
    std::vector<std::string> corpus;
    for (auto const& f : std::filesystem::directory_iterator(argv[1])) {
        std::ifstream in(f.path(), std::ios::binary);
        corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    if (corpus.empty()) {
        std::fprintf(stderr, "empty corpus in %s\n", argv[1]);
        return 2;
    }
    for (auto const& c : corpus)
        run(c);
    static char const* tokens[] = {"\r\n", "*", "$", ":", "+", "-", "*-1\r\n", "$-1\r\n", "*2147483647\r\n",
                                   "$2147483647\r\n", "*9\r\n*9\r\n*9\r\n*9\r\n*9\r\n*9\r\n*9\r\n*9\r\n", ":-9223372036854775808\r\n",
                                   "0-0", "18446744073709551615-18446744073709551615"};
    std::mt19937_64 rng(20261122);
    for (long i = 0; i < iterations; ++i) {
        std::string s = corpus[rng() % corpus.size()];
        int edits = 1 + static_cast<int>(rng() % 8);
        for (int e = 0; e < edits; ++e) {
            auto pos = s.empty() ? 0 : rng() % (s.size() + 1);
            switch (rng() % 6) {
            case 0: if (!s.empty() && pos < s.size()) s[pos] = static_cast<char>(s[pos] ^ (1 << (rng() % 8))); break;
            case 1: s.insert(pos, 1, static_cast<char>(rng() % 256)); break;
            case 2: if (pos < s.size()) s.erase(pos, 1 + rng() % 8); break;
            case 3: s.insert(pos, tokens[rng() % std::size(tokens)]); break;
            case 4: { auto const& o = corpus[rng() % corpus.size()]; auto from = rng() % (o.size() + 1); s.insert(pos, o.substr(from, rng() % 64)); break; }
            case 5: if (!s.empty()) s.resize(rng() % s.size()); break;
            }
        }
        run(s);
    }
    std::printf("replayed %zu corpus files and %ld mutations without a crash\n", corpus.size(), iterations);
    return 0;
}
