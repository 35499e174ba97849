#include "metrics.hpp"

#include <fmt/format.h>

namespace orders::http {

void metrics::record(std::string const& method, std::string const& route, unsigned status, std::chrono::nanoseconds took)
{
    double const seconds = std::chrono::duration<double>(took).count();
    std::lock_guard lock(mutex_);
    ++requests_[{method, route, status}];
    auto& h = latency_[{method, route}];
    for (std::size_t i = 0; i < bounds_.size(); ++i)
        if (seconds <= bounds_[i])
            ++h.buckets[i];
    ++h.count;
    h.sum += seconds;
}

std::uint64_t metrics::total_requests() const
{
    std::lock_guard lock(mutex_);
    std::uint64_t n = 0;
    for (auto const& [k, v] : requests_)
        n += v;
    return n;
}

std::string metrics::render(std::vector<sample> const& extra) const
{
    std::string out;
    {
        std::lock_guard lock(mutex_);
        out += "# HELP http_requests_total HTTP requests by method, route and status.\n";
        out += "# TYPE http_requests_total counter\n";
        for (auto const& [key, n] : requests_)
            out += fmt::format("http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {}\n", std::get<0>(key),
                               std::get<1>(key), std::get<2>(key), n);
        out += "# HELP http_request_duration_seconds HTTP request latency by method and route.\n";
        out += "# TYPE http_request_duration_seconds histogram\n";
        for (auto const& [key, h] : latency_) {
            auto labels = fmt::format("method=\"{}\",route=\"{}\"", key.first, key.second);
            for (std::size_t i = 0; i < bounds_.size(); ++i)
                out += fmt::format("http_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n", labels, bounds_[i], h.buckets[i]);
            out += fmt::format("http_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n", labels, h.count);
            out += fmt::format("http_request_duration_seconds_sum{{{}}} {}\n", labels, h.sum);
            out += fmt::format("http_request_duration_seconds_count{{{}}} {}\n", labels, h.count);
        }
    }
    for (auto const& s : extra) {
        out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", s.name, s.help, s.name, s.type);
        for (auto const& [labels, v] : s.values)
            out += labels.empty() ? fmt::format("{} {}\n", s.name, v) : fmt::format("{}{{{}}} {}\n", s.name, labels, v);
    }
    return out;
}

}  // namespace orders::http
