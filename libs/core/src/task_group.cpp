// es::task_group. One mutex guards the task table and the joiners; completion handlers of joiners
// are posted to their own executors, never called with the mutex held.
#include <es/error.hpp>
#include <es/log.hpp>
#include <es/task_group.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <spdlog/spdlog.h>

#include <functional>
#include <map>
#include <mutex>
#include <vector>

namespace es {

namespace {
// A joiner's completion, type-erased with the concrete handler's executor so that completing it
// always posts (never runs the joiner inside finished(), under another task's stack).
using join_handler = std::function<void(boost::system::error_code)>;

template <class Handler>
join_handler make_join_handler(Handler handler)
{
    auto ex = asio::get_associated_executor(handler);
    auto h = std::make_shared<Handler>(std::move(handler));
    return [ex, h](boost::system::error_code ec) {
        asio::post(ex, [h, ec]() mutable { std::move (*h)(ec); });
    };
}

void complete(join_handler h, boost::system::error_code ec)
{
    h(ec);
}
}  // namespace

struct task_group::state : std::enable_shared_from_this<state> {
    struct task {
        asio::any_io_executor ex;
        std::shared_ptr<asio::cancellation_signal> cancel;
        std::string name;
        std::function<void()> stop;
    };

    mutable std::mutex mutex;
    std::map<std::uint64_t, task> tasks;
    std::map<std::uint64_t, join_handler> joiners;
    std::uint64_t next_id = 0;
    std::exception_ptr first_failure;
    std::shared_ptr<spdlog::logger> log = es::logger("es.tasks");

    void finished(std::uint64_t id, std::exception_ptr e)
    {
        std::vector<join_handler> wake;
        {
            std::lock_guard lock(mutex);
            auto it = tasks.find(id);
            if (e) {
                log->error("task '{}' ended with an error: {}", it != tasks.end() ? it->second.name : "?",
                           exception_message(e));
                if (!first_failure)
                    first_failure = e;
            }
            if (it != tasks.end())
                tasks.erase(it);
            if (tasks.empty()) {
                for (auto& [jid, h] : joiners)
                    wake.push_back(std::move(h));
                joiners.clear();
            }
        }
        for (auto& h : wake)
            complete(std::move(h), {});
    }

    void add_joiner(join_handler h, asio::cancellation_slot slot)
    {
        std::unique_lock lock(mutex);
        if (tasks.empty()) {
            lock.unlock();
            complete(std::move(h), {});
            return;
        }
        auto id = next_id++;
        if (slot.is_connected()) {
            slot.assign([self = shared_from_this(), id](asio::cancellation_type) {
                join_handler h;
                {
                    std::lock_guard lock(self->mutex);
                    auto it = self->joiners.find(id);
                    if (it == self->joiners.end())
                        return;
                    h = std::move(it->second);
                    self->joiners.erase(it);
                }
                complete(std::move(h), asio::error::operation_aborted);
            });
        }
        joiners.emplace(id, std::move(h));
    }
};

task_group::task_group() : state_(std::make_shared<state>()) {}

task_group::~task_group()
{
    cancel();
}

void task_group::spawn(asio::any_io_executor ex, awaitable<void> task, std::string name)
{
    spawn(std::move(ex), std::move(task), std::move(name), nullptr);
}

void task_group::spawn(asio::any_io_executor ex, awaitable<void> task, std::string name, std::function<void()> stop)
{
    auto signal = std::make_shared<asio::cancellation_signal>();
    std::uint64_t id = 0;
    {
        std::lock_guard lock(state_->mutex);
        id = state_->next_id++;
        state_->tasks.emplace(id, state::task{ex, signal, std::move(name), std::move(stop)});
    }
    // The completion handler holds the state: the group's table outlives the task even when the
    // owner dropped the group (it then cancelled the task in ~task_group).
    asio::co_spawn(ex, std::move(task),
                   asio::bind_cancellation_slot(signal->slot(), [s = state_, id, signal](std::exception_ptr e) {
                       s->finished(id, e);
                   }));
}

void task_group::cancel(asio::cancellation_type type)
{
    std::vector<state::task> running;
    {
        std::lock_guard lock(state_->mutex);
        for (auto const& [id, t] : state_->tasks)
            running.push_back(t);
    }
    // A cancellation_signal is not thread-safe: emit it where its task runs.
    for (auto& t : running) {
        if (t.stop)
            t.stop();
        else
            asio::post(t.ex, [signal = t.cancel, type] { signal->emit(type); });
    }
}

awaitable<void> task_group::join()
{
    auto s = state_;
    auto initiation = [s](auto handler) {
        auto slot = asio::get_associated_cancellation_slot(handler);
        s->add_joiner(make_join_handler(std::move(handler)), slot);
    };
    auto [ec] = co_await asio::async_initiate<decltype(use_nothrow), void(boost::system::error_code)>(
        std::move(initiation), use_nothrow);
    if (ec)
        throw boost::system::system_error(ec, "task_group::join");
}

awaitable<bool> task_group::join_for(std::chrono::steady_clock::duration limit)
{
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(co_await asio::this_coro::executor, limit);
    auto joined = join();
    auto waited = timer.async_wait(use_nothrow);
    auto winner = co_await (std::move(joined) || std::move(waited));
    co_return winner.index() == 0;
}

std::size_t task_group::running() const
{
    std::lock_guard lock(state_->mutex);
    return state_->tasks.size();
}

std::exception_ptr task_group::first_failure() const
{
    std::lock_guard lock(state_->mutex);
    return state_->first_failure;
}

}  // namespace es
