// order-demo: wiring only. Configuration -> backends -> app -> HTTP server, signals, shutdown.
//
// Lifetime: main() owns one coroutine, the service, in a task group. The service owns everything
// it starts (the HTTP server with its accept loop and connections, the app with its bus, relay
// and projections) and awaits the end of each before it returns. When it has returned nothing is
// left for the io_context to do, so io_context::run() returns and main() returns normally.
#include "app.hpp"
#include "http/routes.hpp"
#include "http/server.hpp"

#include <es/error.hpp>
#include <es/log.hpp>
#include <es/task_group.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <spdlog/spdlog.h>

#include <fstream>
#include <iostream>
#include <thread>

namespace asio = boost::asio;

namespace {

// How long the app gets to stop its relay and let bus handlers finish before they are cancelled.
constexpr auto app_stop_timeout = std::chrono::seconds(10);

struct service {
    orders::app_config cfg;
    asio::any_io_executor io;  // the io_context's executor: HTTP connections get strands of it
    std::unique_ptr<orders::order_app> app;
    std::unique_ptr<orders::http::server> server;
    bool failed = false;

    es::awaitable<void> start()
    {
        auto log = es::logger("order-demo");
        auto parts = co_await orders::make_backends(cfg, orders::order_registry());
        app = std::make_unique<orders::order_app>(cfg, std::move(parts));
        co_await app->start();
        server = std::make_unique<orders::http::server>(io, orders::http::make_routes(*app));
        auto const port = server->listen(cfg.host, cfg.port);
        server->start();
        if (!cfg.port_file.empty())
            std::ofstream(cfg.port_file) << port << "\n";
        log->info("order-demo ({}) listening on http://{}:{}/ (store: {}, bus: {})", cfg.role, cfg.host, port,
                  orders::redact(cfg.store), orders::redact(cfg.bus));
    }

    // start(), its failure returned instead of thrown: `||` below waits for the first operation
    // that succeeds, and a start-up failure must end the wait as well as a signal does.
    es::awaitable<std::exception_ptr> start_reporting_failure()
    {
        std::exception_ptr failure;
        try {
            co_await start();
        } catch (...) {
            failure = std::current_exception();
        }
        co_return failure;
    }

    // Start-up, or a signal during start-up (which cancels it). Returns whether a signal came;
    // throws what made start-up fail.
    es::awaitable<bool> start_or_signal(asio::signal_set& signals)
    {
        using namespace asio::experimental::awaitable_operators;
        auto starting = start_reporting_failure();
        auto signalled = signals.async_wait(es::use_nothrow);
        auto first = co_await (std::move(starting) || std::move(signalled));
        if (first.index() == 0) {
            if (auto failure = std::get<0>(first))
                std::rethrow_exception(failure);
            co_return false;
        }
        auto const [ec, sig] = std::get<1>(first);
        if (!ec)
            es::logger("order-demo")->info("signal {} during start-up: stopping", sig);
        co_return true;
    }

    // Stops in dependency order: no new requests, then the app the requests used. Each part is
    // awaited; what failed is logged and makes the exit code 1, the rest still stops.
    es::awaitable<void> stop()
    {
        auto log = es::logger("order-demo");
        if (server) {
            auto const drained = co_await server->shutdown(std::chrono::milliseconds(cfg.drain_ms));
            log->info("HTTP server stopped: {} connection(s) finished, {} cut at the drain limit ({} ms)", drained.drained,
                      drained.cut, cfg.drain_ms);
        }
        if (app) {
            std::exception_ptr failure;
            try {
                co_await app->stop(app_stop_timeout);
            } catch (...) {
                failure = std::current_exception();
            }
            if (failure) {
                log->error("stopping the backends: {}", es::exception_message(failure));
                failed = true;
            }
        }
        server.reset();
        app.reset();
    }

    es::awaitable<void> run()
    {
        auto log = es::logger("order-demo");
        // Registered first: a signal during start-up must not kill the process with the default
        // action, it stops it in order.
        asio::signal_set signals(co_await asio::this_coro::executor, SIGINT, SIGTERM);
        bool signalled = false;
        std::exception_ptr failure;
        try {
            signalled = co_await start_or_signal(signals);
        } catch (...) {
            failure = std::current_exception();
        }
        if (failure) {
            log->critical("fatal: {}", es::exception_message(failure));
            failed = true;
        } else if (!signalled) {
            auto const [ec, sig] = co_await signals.async_wait(es::use_nothrow);
            if (!ec)
                log->info("signal {}: stopping (no new connections; requests in progress get up to {} ms)", sig,
                          cfg.drain_ms);
        }
        // Nothing may keep the io_context busy once the service ends: the signal set included.
        signals.cancel();
        signals.clear();
        co_await stop();
    }
};

}  // namespace

int main(int argc, char** argv)
{
    std::optional<orders::app_config> parsed;
    try {
        parsed = orders::parse_config(std::vector<std::string>(argv + 1, argv + argc));
    } catch (std::exception const& e) {
        std::cerr << "order-demo: " << e.what() << "\n";
        return 2;
    }
    if (!parsed) {
        std::cout << orders::usage();
        return 0;
    }
    auto const& cfg = *parsed;
    spdlog::set_level(spdlog::level::from_str(cfg.log_level));
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v");
    auto log = es::logger("order-demo");

    int exit_code = 0;
    {
        asio::io_context ioc(cfg.threads);
        service svc{cfg, ioc.get_executor()};
        es::task_group tasks;
        tasks.spawn(asio::make_strand(ioc), svc.run(), "order-demo service");

        std::vector<std::thread> threads;
        for (int i = 1; i < cfg.threads; ++i)
            threads.emplace_back([&] { ioc.run(); });
        ioc.run();
        for (auto& t : threads)
            t.join();
        // run() returned because nothing was left to do. A coroutine still suspended now would
        // be waiting for something that can never happen: a bug in its owner, worth failing for.
        if (tasks.running() != 0) {
            log->critical("the io_context ran out of work while the service was still running");
            exit_code = 1;
        }
        if (tasks.first_failure() || svc.failed)
            exit_code = 1;
    }
    if (exit_code == 0)
        log->info("order-demo stopped cleanly");
    spdlog::shutdown();
    return exit_code;
}
