#include <es/redis/client/error.hpp>
#include <es/redis/client/script.hpp>

#include <openssl/sha.h>

namespace es::redis {

script::script(std::string source) : source_(std::move(source))
{
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<unsigned char const*>(source_.data()), source_.size(), digest);
    static constexpr char hex[] = "0123456789abcdef";
    sha1_.reserve(2 * SHA_DIGEST_LENGTH);
    for (unsigned char b : digest) {
        sha1_ += hex[b >> 4];
        sha1_ += hex[b & 15];
    }
}

namespace {
request make_eval(std::string_view command, std::string const& body, std::vector<std::string> const& keys,
                  std::vector<std::string> const& args)
{
    auto nkeys = std::to_string(keys.size());
    std::vector<std::string_view> argv{command, body, nkeys};
    for (auto const& k : keys)
        argv.push_back(k);
    for (auto const& a : args)
        argv.push_back(a);
    request req;
    req.push_argv(argv);
    return req;
}
}  // namespace

awaitable<reply> eval(connection& c, script const& s, std::vector<std::string> keys, std::vector<std::string> args)
{
    auto by_hash = make_eval("EVALSHA", s.sha1(), keys, args);
    auto replies = co_await c.exec(by_hash);
    if (replies.size() == 1 && replies.front().is_error() && replies.front().str.starts_with("NOSCRIPT")) {
        // First use on this server (or after SCRIPT FLUSH / a restart): EVAL runs and caches it.
        auto full = make_eval("EVAL", s.source(), keys, args);
        replies = co_await c.exec(full);
    }
    if (replies.size() != 1)
        throw es::error(make_error_code(errc::unexpected_reply), "redis EVALSHA: expected one reply");
    throw_if_error(replies.front(), "EVALSHA " + s.sha1());
    co_return std::move(replies.front());
}

}  // namespace es::redis
