#include <es/redis/client/request.hpp>

#include <hiredis/hiredis.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <new>

namespace es::redis {
namespace {
std::string upper(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
    return out;
}

bool is_blocking(std::string_view name, std::span<std::string_view const> argv)
{
    if (name == "XREAD" || name == "XREADGROUP") {
        return std::any_of(argv.begin() + 1, argv.end(), [](std::string_view a) { return upper(a) == "BLOCK"; });
    }
    static constexpr std::string_view blocking[] = {"BLPOP", "BRPOP", "BLMOVE", "BRPOPLPUSH", "BZPOPMIN",
                                                    "BZPOPMAX", "BLMPOP", "BZMPOP", "WAIT"};
    return std::find(std::begin(blocking), std::end(blocking), name) != std::end(blocking);
}
}  // namespace

request& request::push_argv(std::span<std::string_view const> argv)
{
    if (argv.empty())
        return *this;
    // Most commands have a few dozen arguments at most: keep their pointers on the stack.
    constexpr std::size_t on_stack = 32;
    std::array<char const*, on_stack> ptr_buf;
    std::array<std::size_t, on_stack> len_buf;
    std::vector<char const*> ptr_heap;
    std::vector<std::size_t> len_heap;
    char const** ptrs = ptr_buf.data();
    std::size_t* lens = len_buf.data();
    if (argv.size() > on_stack) {
        ptr_heap.resize(argv.size());
        len_heap.resize(argv.size());
        ptrs = ptr_heap.data();
        lens = len_heap.data();
    }
    for (std::size_t i = 0; i < argv.size(); ++i) {
        ptrs[i] = argv[i].data();
        lens[i] = argv[i].size();
    }
    // hiredis formats the command (a fixed choice of the project). It writes every "$<len>"
    // header with sprintf: about 1.5 us for a 27-argument XADD of an envelope, against 0.3 us for
    // a RESP writer on to_chars (bench/redis/format_bench.cpp, docs/benchmarks.md).
    char* formatted = nullptr;
    int n = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), ptrs, lens);
    if (n < 0 || formatted == nullptr)
        throw std::bad_alloc();
    payload_.append(formatted, static_cast<std::size_t>(n));
    redisFreeCommand(formatted);
    auto name = upper(argv[0]);
    blocking_ = blocking_ || is_blocking(name, argv);
    if (commands_ == 0)
        first_ = name;
    last_ = std::move(name);
    ++commands_;
    return *this;
}

request& request::append(request const& other)
{
    if (other.commands_ == 0)
        return *this;
    payload_ += other.payload_;
    if (commands_ == 0)
        first_ = other.first_;
    last_ = other.last_;
    commands_ += other.commands_;
    blocking_ = blocking_ || other.blocking_;
    return *this;
}

std::string request::summary() const
{
    if (commands_ <= 1)
        return first_;
    if (first_ == last_)
        return first_ + " x" + std::to_string(commands_);
    return first_ + " … " + last_ + " (" + std::to_string(commands_) + " commands)";
}

void request::clear()
{
    payload_.clear();
    commands_ = 0;
    blocking_ = false;
    first_.clear();
    last_.clear();
}

}  // namespace es::redis
