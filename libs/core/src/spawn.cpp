// es::spawn: top-level coroutines whose failures are never silent.
#include <es/error.hpp>
#include <es/log.hpp>
#include <es/spawn.hpp>

#include <boost/asio/co_spawn.hpp>

#include <spdlog/spdlog.h>

namespace es {

void log_and_rethrow::operator()(std::exception_ptr e) const
{
    if (!e)
        return;
    es::logger("es")->critical("coroutine '{}' ended with an error: {}", name, exception_message(e));
    std::rethrow_exception(e);
}

void spawn(asio::any_io_executor ex, awaitable<void> task, std::string name)
{
    asio::co_spawn(std::move(ex), std::move(task), log_and_rethrow{std::move(name)});
}

}  // namespace es
