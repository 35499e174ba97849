#pragma once
// es::spawn: co_spawn for a program's top-level coroutines. With asio::detached an exception
// that escapes the coroutine is swallowed and the program goes on (or exits 0) without a word;
// es::spawn logs it, naming the coroutine, and rethrows it from io_context::run(), where main()
// sees it.
//
//   es::spawn(io.get_executor(), serve(), "http server");
//   io.run();   // throws what serve() threw
//
// The library itself never spawns this way: its coroutines belong to an es::task_group.
#include <es/asio.hpp>

#include <exception>
#include <string>

namespace es {

/// A co_spawn completion handler: logs an escaping exception (logger "es") and rethrows it.
struct log_and_rethrow {
    std::string name;
    void operator()(std::exception_ptr e) const;
};

/// co_spawn(ex, task, log_and_rethrow{name}).
void spawn(asio::any_io_executor ex, awaitable<void> task, std::string name);

}  // namespace es
