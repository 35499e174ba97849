// es-admin: an operator's command line for eventsource-cpp deployments.
#include "commands.hpp"

#include <es/error.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>

namespace {

std::string env_or(char const* name, std::string fallback)
{
    char const* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::string(v) : std::move(fallback);
}

std::string help()
{
    return "es-admin: operate eventsource-cpp deployments\n\n"
           "usage: es-admin <group> <command> [arguments] [--json]\n\n" +
           es_admin::store_help() + "\n" + es_admin::bus_help() +
           "\nCommon options: --json (machine-readable output), --verbose (library logs), --help. Errors are\n"
           "one line on stderr and a"
           " non-zero exit code (2 for usage mistakes).\n";
}

}  // namespace

int main(int argc, char** argv)
{
    std::vector<std::string> args(argv + 1, argv + argc);
    // Errors reach the operator as one line from main(); library logs only with --verbose.
    auto verbose = std::find(args.begin(), args.end(), "--verbose");
    spdlog::set_level(verbose != args.end() ? spdlog::level::debug : spdlog::level::off);
    if (verbose != args.end())
        args.erase(verbose);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        std::cout << help();
        return args.empty() ? 2 : 0;
    }
    std::string const group = args[0];
    if (group != "store" && group != "bus" && group != "dlq") {
        std::cerr << "es-admin: unknown command group '" << group << "' (store, bus, dlq; see --help)\n";
        return 2;
    }
    if (args.size() < 2 || args[1] == "--help" || args[1] == "-h") {
        std::cout << (group == "store" ? es_admin::store_help() : es_admin::bus_help());
        return args.size() < 2 ? 2 : 0;
    }
    std::string const command = args[1];
    int code = 1;
    try {
        std::vector<std::string> rest(args.begin() + 2, args.end());
        for (auto const& a : rest)
            if (a == "--help" || a == "-h") {
                std::cout << (group == "store" ? es_admin::store_help() : es_admin::bus_help());
                return 0;
            }
        es_admin::arguments parsed(rest, {"json", "backwards", "yes"});
        es_admin::context ctx{parsed,
                              es_admin::output(parsed.flag("json")),
                              parsed.option_or("store", env_or("ES_STORE", "")),
                              parsed.option_or("bus", env_or("ES_BUS", "")),
                              parsed.option_or("schema", env_or("ES_SCHEMA", "es")),
                              parsed.option_or("stream-prefix", env_or("ES_STREAM_PREFIX", "orders")),
                              parsed.option_or("group", "")};
        boost::asio::io_context ioc;
        std::exception_ptr failure;
        boost::asio::co_spawn(
            ioc,
            [&]() -> es::awaitable<void> {
                if (group == "store")
                    code = co_await es_admin::run_store_command(command, ctx);
                else
                    code = co_await es_admin::run_bus_command(group, command, ctx);
            },
            [&](std::exception_ptr e) { failure = e; });
        ioc.run();
        if (failure)
            std::rethrow_exception(failure);
    } catch (es_admin::usage_error const& e) {
        std::cerr << "es-admin: " << e.what() << "\n";
        return 2;
    } catch (std::exception const& e) {
        std::cerr << "es-admin: " << e.what() << "\n";
        return 1;
    }
    return code;
}
