#pragma once
// es::task_group: the owner of a set of coroutines.
//
// Every coroutine the library starts belongs to a task_group, and whoever owns the group awaits
// its end: spawn() starts a coroutine, cancel() asks every one still running to stop (terminal
// cancellation through its cancellation slot), join() completes once all have ended. Nothing is
// polled: the last coroutine to end wakes the joiners.
//
//   es::task_group tasks;
//   tasks.spawn(strand, read_loop(), "read loop");
//   ...
//   tasks.cancel();
//   co_await tasks.join();
//
// Threading: spawn(), cancel(), join() and running() may be called from any thread. Each
// coroutine's cancellation is emitted on the executor it was spawned on, so on an io_context run by
// several threads spawn on a strand.
#include <es/asio.hpp>

#include <boost/asio/cancellation_type.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <string>

namespace es {

class task_group {
public:
    task_group();
    /// Cancels whatever still runs (the coroutines keep the group's state alive until they end),
    /// but cannot wait for it: an owner joins before it lets the group go.
    ~task_group();
    task_group(task_group const&) = delete;
    task_group& operator=(task_group const&) = delete;

    /// Starts `task` on `ex`. An exception that escapes it is logged with `name` (logger
    /// "es.tasks") and kept for first_failure(); it never escapes into the executor.
    void spawn(asio::any_io_executor ex, awaitable<void> task, std::string name);
    /// spawn() for a task that has its own way to stop (a connection's run() ends on the
    /// connection's cancel()): cancel() calls `stop` instead of emitting cancellation into it.
    /// Boost 1.81's co_spawn posts a cancellation it forwards to another executor and may run it
    /// after the inner coroutine has ended; tasks that hop executors are stopped this way.
    void spawn(asio::any_io_executor ex, awaitable<void> task, std::string name, std::function<void()> stop);

    /// Emits `type` cancellation to every coroutine still running (each on its own executor), or
    /// calls its `stop`.
    void cancel(asio::cancellation_type type = asio::cancellation_type::terminal);

    /// Completes when no coroutine of the group runs (at once when none does). Cancelling the
    /// awaiting coroutine completes it with operation_aborted, leaving the tasks alone.
    awaitable<void> join();

    /// join() bounded by `limit`: true when every task ended, false when the limit passed first.
    awaitable<bool> join_for(std::chrono::steady_clock::duration limit);

    /// How many coroutines are running now.
    std::size_t running() const;
    /// The first exception that escaped a task, if any.
    std::exception_ptr first_failure() const;

private:
    struct state;
    std::shared_ptr<state> state_;
};

}  // namespace es
