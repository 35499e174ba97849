#include "cli.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <unistd.h>

namespace es_admin {

arguments::arguments(std::vector<std::string> args, std::vector<std::string> const& flags)
{
    for (std::size_t i = 0; i < args.size(); ++i) {
        auto const& a = args[i];
        if (a.rfind("--", 0) == 0 && a.size() > 2) {
            auto name = a.substr(2);
            auto eq = name.find('=');
            if (eq != std::string::npos) {
                options_[name.substr(0, eq)] = name.substr(eq + 1);
            } else if (std::find(flags.begin(), flags.end(), name) != flags.end()) {
                options_[name] = "1";
            } else {
                if (i + 1 >= args.size())
                    throw usage_error("option --" + name + " needs a value");
                options_[name] = args[++i];
            }
        } else {
            positional_.push_back(a);
        }
    }
}

std::string const& arguments::positional(std::size_t i, char const* name) const
{
    if (i >= positional_.size())
        throw usage_error(std::string("missing argument: ") + name);
    return positional_[i];
}

bool arguments::flag(std::string const& name) const
{
    return options_.count(name) > 0;
}

std::optional<std::string> arguments::option(std::string const& name) const
{
    auto it = options_.find(name);
    if (it == options_.end())
        return std::nullopt;
    return it->second;
}

std::string arguments::option_or(std::string const& name, std::string fallback) const
{
    auto v = option(name);
    return v ? *v : std::move(fallback);
}

std::uint64_t arguments::number_or(std::string const& name, std::uint64_t fallback) const
{
    auto v = option(name);
    if (!v)
        return fallback;
    std::size_t used = 0;
    std::uint64_t n = 0;
    try {
        n = std::stoull(*v, &used);
    } catch (std::exception const&) {
        used = 0;
    }
    if (used == 0 || used != v->size() || (*v)[0] == '-')
        throw usage_error("--" + name + " must be a non-negative whole number, got '" + *v + "'");
    return n;
}

void arguments::allow_only(std::vector<std::string> const& known) const
{
    // Connection options every command accepts.
    static std::vector<std::string> const common{"store", "bus", "schema", "stream-prefix", "group"};
    for (auto const& [k, v] : options_)
        if (std::find(known.begin(), known.end(), k) == known.end() &&
            std::find(common.begin(), common.end(), k) == common.end())
            throw usage_error("unknown option --" + k + " (see --help)");
}

std::string to_text(boost::json::value const& v)
{
    if (v.is_string())
        return std::string(v.get_string());
    if (v.is_null())
        return "";
    return boost::json::serialize(v);
}

void output::table(std::vector<std::string> const& header, std::vector<std::vector<std::string>> const& rows,
                   boost::json::value const& as_json) const
{
    if (json_) {
        value(as_json);
        return;
    }
    std::vector<std::size_t> width(header.size());
    for (std::size_t c = 0; c < header.size(); ++c)
        width[c] = header[c].size();
    for (auto const& r : rows)
        for (std::size_t c = 0; c < r.size() && c < width.size(); ++c)
            width[c] = std::max(width[c], std::min<std::size_t>(r[c].size(), 80));
    auto print_row = [&](std::vector<std::string> const& r) {
        std::string lineout;
        for (std::size_t c = 0; c < header.size(); ++c) {
            auto cell = c < r.size() ? r[c] : "";
            if (cell.size() > 80)
                cell = cell.substr(0, 77) + "...";
            lineout += cell;
            if (c + 1 < header.size())
                lineout += std::string(width[c] - cell.size() + 2, ' ');
        }
        std::cout << lineout << "\n";
    };
    print_row(header);
    std::vector<std::string> rule;
    for (auto w : width)
        rule.emplace_back(w, '-');
    print_row(rule);
    for (auto const& r : rows)
        print_row(r);
    if (rows.empty())
        std::cout << "(none)\n";
}

void output::value(boost::json::value const& v) const
{
    std::cout << boost::json::serialize(v) << "\n";
}

void output::line(std::string const& text) const
{
    if (!json_)
        std::cout << text << "\n";
}

progress::progress(std::string label, std::uint64_t total)
    : label_(std::move(label)), total_(total), enabled_(isatty(STDERR_FILENO) == 1)
{
}

void progress::update(std::uint64_t done)
{
    if (!enabled_)
        return;
    constexpr int width = 30;
    double const fraction = total_ == 0 ? 1.0 : std::min(1.0, static_cast<double>(done) / static_cast<double>(total_));
    int const filled = static_cast<int>(fraction * width);
    std::fprintf(stderr, "\r%s [%s%s] %llu/%llu", label_.c_str(), std::string(filled, '#').c_str(),
                 std::string(width - filled, '.').c_str(), static_cast<unsigned long long>(done),
                 static_cast<unsigned long long>(total_));
    std::fflush(stderr);
}

void progress::finish()
{
    if (enabled_)
        std::fprintf(stderr, "\n");
}

std::uint64_t parse_duration_ms(std::string const& text)
{
    std::size_t used = 0;
    std::uint64_t n = 0;
    try {
        n = std::stoull(text, &used);
    } catch (std::exception const&) {
        used = 0;
    }
    auto unit = text.substr(used);
    std::uint64_t scale = 0;
    if (unit == "ms") scale = 1;
    else if (unit == "s") scale = 1000;
    else if (unit == "m") scale = 60'000;
    else if (unit == "h") scale = 3'600'000;
    else if (unit == "d") scale = 86'400'000;
    if (used == 0 || scale == 0 || text[0] == '-')
        throw usage_error("'" + text + "' is not a duration such as 90s, 15m, 2h or 7d");
    return n * scale;
}

}  // namespace es_admin
