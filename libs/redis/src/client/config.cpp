#include <es/redis/client/config.hpp>
#include <es/redis/client/error.hpp>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <charconv>

namespace es::redis {

std::string config::endpoint() const
{
    return host + ":" + std::to_string(port);
}

namespace {
template <class T>
bool parse_number(std::string_view s, T& out)
{
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
}

failure bad_url(std::string_view url, std::string const& why)
{
    // The URL may hold a password: name only the scheme and host part in the message.
    auto at = url.rfind('@');
    std::string shown = at == std::string_view::npos ? std::string(url) : "…" + std::string(url.substr(at));
    return failure{make_error_code(errc::invalid_url), "redis url '" + shown + "': " + why};
}
}  // namespace

result<config> config_from_url(std::string_view url)
{
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed)
        return bad_url(url, "not a URI (" + parsed.error().message() + ")");
    auto const& u = *parsed;
    config c;
    if (u.scheme() == "rediss")
        c.use_tls = true;
    else if (u.scheme() != "redis")
        return bad_url(url, "scheme must be redis or rediss");
    if (!u.encoded_host().empty())
        c.host = u.host();
    if (u.has_port()) {
        if (!parse_number(u.port(), c.port))
            return bad_url(url, "bad port");
    }
    if (u.has_userinfo()) {
        c.username = u.user();
        c.password = u.password();
        // "redis://:password@host" is a password without a user (requirepass).
    }
    auto path = std::string(u.path());
    if (!path.empty() && path != "/") {
        if (path.front() == '/')
            path.erase(0, 1);
        if (!parse_number(std::string_view(path), c.database) || c.database < 0)
            return bad_url(url, "database must be a number");
    }
    for (auto p : u.params()) {
        std::string_view key = p.key, value = p.value;
        long long n = 0;
        if (key == "ca_file")
            c.ca_file = value;
        else if (key == "verify_server_name")
            c.verify_server_name = value != "0" && value != "false";
        else if (key == "client_name")
            c.client_name = value;
        else if (key == "connect_timeout_ms" && parse_number(value, n))
            c.connect_timeout = std::chrono::milliseconds(n);
        else if (key == "command_timeout_ms" && parse_number(value, n))
            c.command_timeout = std::chrono::milliseconds(n);
        else if (key == "health_check_interval_ms" && parse_number(value, n))
            c.health_check_interval = std::chrono::milliseconds(n);
        else
            return bad_url(url, "unknown or malformed parameter '" + std::string(key) + "'");
    }
    return c;
}

}  // namespace es::redis
