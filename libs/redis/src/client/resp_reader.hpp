#pragma once
// Private: RAII over hiredis' sans-io redisReader, building es::redis::reply trees directly
// (no redisReply intermediate). hiredis 0.14 has no caps of its own (RELIABILITY.md A0.3), so
// this class enforces the buffered-bytes limit and never pre-allocates a declared array length.
#include <es/redis/client/reply.hpp>

#include <cstddef>
#include <optional>

struct redisReader;

namespace es::redis::detail {

class resp_reader {
public:
    explicit resp_reader(std::size_t max_reply_size = std::size_t(1) << 30);
    ~resp_reader();
    resp_reader(resp_reader const&) = delete;
    resp_reader& operator=(resp_reader const&) = delete;

    /// Appends received bytes. Throws es::error(reply_too_large) when more than max_reply_size
    /// bytes are buffered without completing a reply.
    void feed(char const* data, std::size_t size);
    /// The next complete reply, or nullopt when more bytes are needed.
    /// Throws es::error(protocol_error) on bytes that are not RESP2; the reader is then unusable
    /// until reset().
    std::optional<reply> next();
    /// Bytes received but not yet consumed by a complete reply.
    std::size_t buffered() const noexcept;
    /// Forgets everything buffered (after a reconnect).
    void reset();

private:
    redisReader* reader_ = nullptr;
    std::size_t max_reply_size_;
};

}  // namespace es::redis::detail
