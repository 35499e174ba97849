#pragma once
#include <cstdint>
#include <string>

namespace es {

/// What a writer believes about a stream before appending to it.
/// Versions count events from 1; a stream that does not exist is at version 0.
class expected_version {
public:
    enum class kind : std::uint8_t { any, no_stream, stream_exists, exact };

    /// No check at all.
    static constexpr expected_version any() noexcept { return {kind::any, 0}; }
    /// The stream must not exist yet.
    static constexpr expected_version no_stream() noexcept { return {kind::no_stream, 0}; }
    /// The stream must have at least one event.
    static constexpr expected_version stream_exists() noexcept { return {kind::stream_exists, 0}; }
    /// The stream must hold exactly n events (n == 0 means it must not exist).
    static constexpr expected_version exactly(std::uint64_t n) noexcept { return {kind::exact, n}; }

    constexpr kind type() const noexcept { return kind_; }
    constexpr std::uint64_t value() const noexcept { return value_; }

    /// Whether a stream currently at `current` (0 = absent) satisfies this expectation.
    constexpr bool matches(std::uint64_t current) const noexcept
    {
        switch (kind_) {
        case kind::any: return true;
        case kind::no_stream: return current == 0;
        case kind::stream_exists: return current > 0;
        case kind::exact: return current == value_;
        }
        return false;
    }

    /// "any", "no stream", "an existing stream" or "version N": for error messages.
    std::string to_string() const;

    friend constexpr bool operator==(expected_version, expected_version) = default;

private:
    constexpr expected_version(kind k, std::uint64_t v) noexcept : kind_(k), value_(v) {}
    kind kind_;
    std::uint64_t value_;
};

}  // namespace es
