#pragma once
// Request counters and latency histograms by route, rendered in Prometheus text format.
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace orders::http {

class metrics {
public:
    /// Records one finished request. `route` is the route pattern ("/orders/{id}"), not the path.
    void record(std::string const& method, std::string const& route, unsigned status, std::chrono::nanoseconds took);

    /// A gauge or counter computed by the caller at scrape time.
    struct sample {
        std::string name;  ///< e.g. es_events_appended_total
        std::string help;
        std::string type;  ///< counter | gauge
        std::vector<std::pair<std::string, double>> values;  ///< label set ("" or `group="x"`) -> value
    };

    /// The whole exposition: HTTP series plus `extra`.
    std::string render(std::vector<sample> const& extra) const;

    std::uint64_t total_requests() const;

private:
    static constexpr std::array<double, 11> bounds_{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0};
    struct histogram {
        std::array<std::uint64_t, bounds_.size()> buckets{};
        std::uint64_t count = 0;
        double sum = 0;
    };
    mutable std::mutex mutex_;
    std::map<std::tuple<std::string, std::string, unsigned>, std::uint64_t> requests_;
    std::map<std::pair<std::string, std::string>, histogram> latency_;
};

}  // namespace orders::http
