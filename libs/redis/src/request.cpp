#include <es/redis/request.hpp>

#include <hiredis/hiredis.h>

#include <algorithm>
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

bool is_blocking(std::span<std::string_view const> argv)
{
    auto name = upper(argv[0]);
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
    std::vector<char const*> ptrs;
    std::vector<std::size_t> lens;
    ptrs.reserve(argv.size());
    lens.reserve(argv.size());
    for (auto a : argv) {
        ptrs.push_back(a.data());
        lens.push_back(a.size());
    }
    char* formatted = nullptr;
    int n = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), ptrs.data(), lens.data());
    if (n < 0 || formatted == nullptr)
        throw std::bad_alloc();
    payload_.append(formatted, static_cast<std::size_t>(n));
    redisFreeCommand(formatted);
    if (commands_ == 0)
        first_ = upper(argv[0]);
    last_ = upper(argv[0]);
    ++commands_;
    blocking_ = blocking_ || is_blocking(argv);
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
