#pragma once
// The small toolkit es-admin's commands share: options, tables, JSON output, progress.
#include <boost/json/value.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace es_admin {

/// A usage mistake: printed as one line, exit code 2.
struct usage_error : std::runtime_error {
    using runtime_error::runtime_error;
};

/// Parsed command line: positional words and --key value / --flag options.
class arguments {
public:
    /// `flags` are the options that take no value.
    arguments(std::vector<std::string> args, std::vector<std::string> const& flags);

    std::vector<std::string> const& positional() const noexcept { return positional_; }
    std::string const& positional(std::size_t i, char const* name) const;
    bool flag(std::string const& name) const;
    std::optional<std::string> option(std::string const& name) const;
    std::string option_or(std::string const& name, std::string fallback) const;
    std::uint64_t number_or(std::string const& name, std::uint64_t fallback) const;
    /// Throws usage_error naming the first option not in `known`.
    void allow_only(std::vector<std::string> const& known) const;

private:
    std::vector<std::string> positional_;
    std::map<std::string, std::string> options_;
};

/// Prints rows as an aligned text table, or the JSON value when --json was given.
class output {
public:
    explicit output(bool json) : json_(json) {}
    bool json() const noexcept { return json_; }
    void table(std::vector<std::string> const& header, std::vector<std::vector<std::string>> const& rows,
               boost::json::value const& as_json) const;
    void value(boost::json::value const& v) const;
    void line(std::string const& text) const;

private:
    bool json_;
};

/// A progress bar on stderr when it is a terminal; silent otherwise.
class progress {
public:
    progress(std::string label, std::uint64_t total);
    void update(std::uint64_t done);
    void finish();

private:
    std::string label_;
    std::uint64_t total_;
    bool enabled_;
};

/// "2h", "30m", "45s", "1500ms", "3d" -> milliseconds.
std::uint64_t parse_duration_ms(std::string const& text);

std::string to_text(boost::json::value const& v);

}  // namespace es_admin
