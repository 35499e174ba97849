#pragma once
// Checkpoints: how far a named reader (projection, relay) has come in the global log.
#include <es/asio.hpp>

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace es {

class checkpoint_store {
public:
    virtual ~checkpoint_store() = default;
    /// The last global position the reader finished, if it ever stored one.
    virtual awaitable<std::optional<std::uint64_t>> load(std::string name) = 0;
    /// Records that the reader finished everything up to and including `position`.
    virtual awaitable<void> save(std::string name, std::uint64_t position) = 0;
};

/// Checkpoints in process memory; safe to share between threads.
class in_memory_checkpoint_store final : public checkpoint_store {
public:
    awaitable<std::optional<std::uint64_t>> load(std::string name) override;
    awaitable<void> save(std::string name, std::uint64_t position) override;

private:
    std::mutex mutex_;
    std::map<std::string, std::uint64_t, std::less<>> positions_;
};

}  // namespace es
