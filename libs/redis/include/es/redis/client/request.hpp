#pragma once
// A request: one or more commands, formatted once (RESP2 via hiredis' formatter) and sent as a
// unit. Every command gets exactly one reply, so a request gets size() replies.
#include <chrono>
#include <charconv>
#include <concepts>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace es::redis {

class request {
public:
    /// Resent after a reconnect when the connection dropped before its reply arrived. Mark only
    /// commands that are safe to run twice (reads, PING, XACK, SET of a fixed value…).
    bool idempotent = false;
    /// Per-request timeout; unset: config::command_timeout. Blocking commands need their block
    /// time plus a margin.
    std::optional<std::chrono::milliseconds> timeout;

    /// Appends a command; arguments are strings, string views, or integers.
    template <class... Args>
    request& push(std::string_view command, Args const&... args)
    {
        std::vector<std::string> numbers;
        numbers.reserve(sizeof...(Args));
        std::vector<std::string_view> argv;
        argv.reserve(1 + sizeof...(Args));
        argv.push_back(command);
        (append_arg(argv, numbers, args), ...);
        return push_argv(argv);
    }

    /// Appends a command given as a whole argument vector (argv[0] is the command name).
    request& push_argv(std::span<std::string_view const> argv);

    /// Appends the commands of another request.
    request& append(request const& other);

    /// Number of commands (and of replies).
    std::size_t size() const noexcept { return commands_; }
    bool empty() const noexcept { return commands_ == 0; }
    /// The formatted RESP bytes.
    std::string const& payload() const noexcept { return payload_; }
    /// Whether a command blocks on the server (XREAD/XREADGROUP with BLOCK, BLPOP, …).
    bool blocking() const noexcept { return blocking_; }
    /// "XADD", "MULTI … EXEC (4 commands)": names the request in messages.
    std::string summary() const;

    void clear();

private:
    template <class T>
    static void append_arg(std::vector<std::string_view>& argv, std::vector<std::string>& numbers, T const& v)
    {
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, char>) {
            char buf[24];
            auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
            (void)ec;
            numbers.emplace_back(buf, end);
            argv.push_back(numbers.back());
        } else {
            argv.push_back(std::string_view(v));
        }
    }

    std::string payload_;
    std::size_t commands_ = 0;
    bool blocking_ = false;
    std::string first_;
    std::string last_;
};

}  // namespace es::redis
