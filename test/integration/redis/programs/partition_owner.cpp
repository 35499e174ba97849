// A partition owner in a process of its own, for the fencing test (partition_fencing_test.cpp),
// which stops it with SIGSTOP past its lease and resumes it with SIGCONT.
//
//   partition_owner <redis port> <stream prefix> <consumer name>
//
// Consumes a one-partition bus; each handler first records "<consumer>:<n>" in the list
// "<prefix>:handled" (so a record means "a handler started"), then takes 100 ms. Stops on
// SIGTERM or SIGINT with a graceful shutdown and exits 0.
#include <es/redis/bus/partitioned_bus.hpp>
#include <es/redis/client/connection.hpp>
#include <es/task_group.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <cstdio>
#include <string>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
es::awaitable<void> run(std::uint16_t port, std::string prefix, std::string name)
{
    auto ex = co_await asio::this_coro::executor;
    es::redis::config conn_cfg;
    conn_cfg.port = port;
    auto recorder = std::make_shared<es::redis::connection>(ex, conn_cfg);
    es::task_group tasks;
    tasks.spawn(ex, recorder->run(), "recorder connection", [recorder] { recorder->cancel(); });

    es::redis::partitioned_bus_config cfg;
    cfg.redis_url = "redis://127.0.0.1:" + std::to_string(port);
    cfg.stream_prefix = prefix;
    cfg.consumer_group = "fencing";
    cfg.consumer_name = name;
    cfg.partitions = 1;
    cfg.lease_ttl = 600ms;
    cfg.rebalance_interval = 150ms;
    cfg.bus.batch_size = 100;
    cfg.bus.block_time = 100ms;
    cfg.bus.pending_idle_time = 10s;  // only the take-over claims here
    cfg.bus.recovery_interval = 0ms;
    es::redis::partitioned_bus bus(ex, cfg);
    auto const list = prefix + ":handled";
    bus.subscribe("Step", [recorder, list, name](es::event_envelope const& e) -> es::awaitable<void> {
        es::redis::request rec;
        rec.push("RPUSH", list, name + ":" + std::to_string(e.payload.at("n").to_number<int>()));
        co_await recorder->call(rec);
        asio::steady_timer t(co_await asio::this_coro::executor, 100ms);
        co_await t.async_wait(es::use_nothrow);
    });
    co_await bus.start();
    std::printf("partition_owner %s: started\n", name.c_str());
    std::fflush(stdout);
    asio::signal_set signals(ex, SIGTERM, SIGINT);
    co_await signals.async_wait(asio::use_awaitable);
    co_await bus.shutdown(2s);
    tasks.cancel();
    co_await tasks.join();
}
}  // namespace

int main(int argc, char** argv)
{
    if (argc != 4) {
        std::fprintf(stderr, "usage: partition_owner <redis port> <stream prefix> <consumer name>\n");
        return 2;
    }
    asio::io_context io;
    int rc = 0;
    asio::co_spawn(io, run(static_cast<std::uint16_t>(std::stoi(argv[1])), argv[2], argv[3]), [&](std::exception_ptr e) {
        if (e) {
            std::fprintf(stderr, "partition_owner: %s\n", es::exception_message(e).c_str());
            rc = 1;
        }
    });
    io.run();
    return rc;
}
