#pragma once
// es::redis::connection: one TCP (or TLS) connection shared by any number of coroutines.
//
//   auto conn = std::make_shared<redis::connection>(ex, cfg);
//   tasks.spawn(ex, conn->run(), "redis", [conn] { conn->cancel(); });  // an es::task_group owns run()
//   co_await conn->wait_ready();                 // optional: fail at once if it cannot connect
//   request req; req.push("SET", "k", "v");
//   auto replies = co_await conn->exec(req);     // queued until connected; pipelined
//   conn->cancel();                              // ends run(), aborts what is pending
//   co_await tasks.join();                       // run() has returned
#include <es/asio.hpp>
#include <es/redis/client/config.hpp>
#include <es/redis/client/error.hpp>
#include <es/redis/client/reply.hpp>
#include <es/redis/client/request.hpp>

#include <cstdint>
#include <memory>

namespace es::redis {

namespace detail { class connection_impl; }

struct connection_stats {
    std::uint64_t connects = 0;          ///< successful connection setups (the first one included)
    std::uint64_t connection_losses = 0; ///< connections that dropped or were closed by a health check
    std::uint64_t commands_sent = 0;
    std::uint64_t writes = 0;            ///< socket writes; commands_sent / writes is the pipelining factor
    std::uint64_t resent = 0;            ///< idempotent commands written again after a reconnect
    std::uint64_t timeouts = 0;          ///< commands that completed with command_timeout
};

class connection {
public:
    /// The connection runs on a strand of `ex`; exec() may be called from any thread.
    connection(asio::any_io_executor ex, config cfg);
    /// Cancels run() and every pending request.
    ~connection();
    connection(connection const&) = delete;
    connection& operator=(connection const&) = delete;

    /// Connects, authenticates, selects the database, sends health-check PINGs and reconnects
    /// with exponential backoff and jitter until cancel(). Returns normally after cancel(); throws
    /// es::error when config::reconnect_wait is zero and the connection is lost or cannot be made.
    awaitable<void> run();

    /// Ends run() and completes every pending and later request with asio::error::operation_aborted.
    void cancel();
    /// Same as cancel().
    void stop() { cancel(); }

    /// Sends the request's commands (coalesced with other pending requests into as few writes as
    /// possible) and returns their replies in order. Server error replies are returned as replies
    /// of type error, not thrown.
    /// Throws es::error: errc::command_timeout, errc::connection_lost (written, not idempotent,
    /// connection dropped), errc::blocking_not_allowed, asio::error::operation_aborted (cancel()).
    /// Cancellation: cancelling the awaiting coroutine (e.g. with `||`) completes it with
    /// operation_aborted; a request already written still gets its reply, which is discarded.
    /// Lifetime: `req` is copied when exec() starts.
    awaitable<response> exec(request const& req);

    /// exec() for a request of one command; an error reply throws server_error.
    awaitable<reply> call(request const& req);

    /// Completes once connected; throws es::error(not_connected) naming the endpoint and the cause
    /// as soon as a connection attempt fails (refused, no route, AUTH rejected, connect_timeout),
    /// and operation_aborted after cancel(). Needs run() to be running.
    awaitable<void> wait_ready();

    /// Whether a connection is established right now.
    bool is_connected() const noexcept;
    /// Waits until connected (true) or until `limit` passes (false).
    awaitable<bool> wait_connected(std::chrono::milliseconds limit);

    connection_stats stats() const noexcept;
    config const& get_config() const noexcept;
    asio::any_io_executor get_executor() const noexcept;

private:
    std::shared_ptr<detail::connection_impl> impl_;
};

/// Throws server_error if `r` is an error reply, naming `command`.
void throw_if_error(reply const& r, std::string_view command);

}  // namespace es::redis
