#pragma once
// es::redis::pull_consumer: `co_await c.next()` yields a group's next event; `co_await d.ack()`.
// Made by stream_bus::make_consumer(); it has its own blocking connection, which close() ends
// and stop() ends and awaits.
#include <es/event.hpp>
#include <es/redis/bus/stream_info.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace es::redis {

namespace detail {
struct pull_state;
}

class pull_consumer {
public:
    class delivery {
    public:
        event_envelope event;
        std::string message_id;
        /// XACKs the entry; until then it stays pending and recovery may hand it to others.
        awaitable<void> ack() const;

    private:
        friend class pull_consumer;
        std::shared_ptr<detail::pull_state> state_;
    };

    explicit pull_consumer(std::shared_ptr<detail::pull_state> state);
    /// close()s the connection; its run() ends on its own (the bus' shutdown awaits it).
    ~pull_consumer();
    pull_consumer(pull_consumer&&) noexcept;

    /// The next event; waits for one. Entries that do not decode are dead-lettered and skipped.
    awaitable<delivery> next();
    /// The next event, or nullopt when none arrived within `wait`.
    awaitable<std::optional<delivery>> next(std::chrono::milliseconds wait);
    /// Ends the consumer's connection; a waiting next() fails with operation_aborted.
    void close();
    /// close(), then waits until the connection's run() has ended.
    awaitable<void> stop();

private:
    std::shared_ptr<detail::pull_state> state_;
};

}  // namespace es::redis
