// Appends and reads back one event through an installed es::core.
#include <es/core.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

int main()
{
    boost::asio::io_context ioc;
    es::in_memory_event_store store;
    int result = 1;
    boost::asio::co_spawn(ioc, [&]() -> es::awaitable<void> {
        es::new_event e;
        e.event_type = "PackageTested";
        std::vector<es::new_event> batch{e};
        co_await store.append("package-1", es::expected_version::no_stream(), std::move(batch));
        auto events = co_await store.read_stream("package-1");
        result = events.size() == 1 && events[0].event_type == "PackageTested" ? 0 : 1;
    }, boost::asio::detached);
    ioc.run();
    return result;
}
