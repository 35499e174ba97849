// Built when es::redis is not: the bus commands explain why they cannot run.
#include "commands.hpp"

#include <es/error.hpp>

namespace es_admin {

std::string bus_help()
{
    return "bus and dlq commands: not available, this es-admin was built without es::redis\n";
}

es::awaitable<int> run_bus_command(std::string const& group, std::string const&, context&)
{
    throw es::error(es::errc::invalid_argument, "'" + group + "' commands need es::redis, which this build does not include");
    co_return 2;
}

}  // namespace es_admin
