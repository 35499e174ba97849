#include "tcp_proxy.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <list>
#include <mutex>
#include <future>
#include <thread>

namespace es::test {

namespace asio = boost::asio;
using asio::ip::tcp;

struct tcp_proxy::impl {
    struct link {
        tcp::socket client;
        tcp::socket server;
        bool half_open = false;
        explicit link(asio::io_context& ioc) : client(ioc), server(ioc) {}
    };

    asio::io_context ioc;
    tcp::acceptor acceptor{ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    unsigned short target;
    std::atomic<bool> stalled{false};
    std::atomic<bool> refusing{false};
    std::atomic<std::uint64_t> accepted{0};
    std::list<std::shared_ptr<link>> links;  // touched only on the proxy thread
    std::thread thread;

    explicit impl(unsigned short t) : target(t) {}

    asio::awaitable<void> wait_while_stalled()
    {
        asio::steady_timer timer(ioc);
        while (stalled) {
            timer.expires_after(std::chrono::milliseconds(5));
            co_await timer.async_wait(asio::use_awaitable);
        }
    }

    asio::awaitable<void> pump(std::shared_ptr<link> l, bool to_server)
    {
        auto& from = to_server ? l->client : l->server;
        auto& to = to_server ? l->server : l->client;
        std::array<char, 16384> buf;
        for (;;) {
            auto [ec, n] = co_await from.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
            if (ec)
                break;
            co_await wait_while_stalled();
            if (!to_server && l->half_open)
                continue;  // swallow the server's replies: the client waits forever
            auto [wec, wn] = co_await asio::async_write(to, asio::buffer(buf.data(), n), asio::as_tuple(asio::use_awaitable));
            if (wec)
                break;
        }
        boost::system::error_code ignored;
        if (!l->half_open) {
            l->client.close(ignored);
            l->server.close(ignored);
        }
    }

    asio::awaitable<void> accept_loop()
    {
        for (;;) {
            auto l = std::make_shared<link>(ioc);
            auto [ec] = co_await acceptor.async_accept(l->client, asio::as_tuple(asio::use_awaitable));
            if (ec)
                co_return;
            ++accepted;
            if (refusing) {
                boost::system::error_code ignored;
                l->client.close(ignored);
                continue;
            }
            co_await wait_while_stalled();
            auto [cec] = co_await l->server.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), target),
                                                          asio::as_tuple(asio::use_awaitable));
            if (cec) {
                boost::system::error_code ignored;
                l->client.close(ignored);
                continue;
            }
            links.remove_if([](auto const& x) { return !x->client.is_open() && !x->server.is_open(); });
            links.push_back(l);
            asio::co_spawn(ioc, pump(l, true), asio::detached);
            asio::co_spawn(ioc, pump(l, false), asio::detached);
        }
    }

    // Runs fn on the proxy thread and waits for it.
    template <class Fn>
    void on_thread(Fn fn)
    {
        std::promise<void> done;
        asio::post(ioc, [&] {
            fn();
            done.set_value();
        });
        done.get_future().wait();
    }
};

tcp_proxy::tcp_proxy(unsigned short target_port) : impl_(std::make_unique<impl>(target_port))
{
    asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
    impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

tcp_proxy::~tcp_proxy()
{
    // Close everything on the proxy thread first so no operation is left in flight, then stop.
    impl_->on_thread([this] {
        boost::system::error_code ignored;
        impl_->acceptor.close(ignored);
        for (auto& l : impl_->links) {
            l->client.close(ignored);
            l->server.close(ignored);
        }
    });
    impl_->ioc.stop();
    impl_->thread.join();
}

unsigned short tcp_proxy::port() const noexcept
{
    return impl_->acceptor.local_endpoint().port();
}

void tcp_proxy::drop_connections()
{
    impl_->on_thread([this] {
        for (auto& l : impl_->links) {
            boost::system::error_code ignored;
            l->client.close(ignored);
            l->server.close(ignored);
        }
        impl_->links.clear();
    });
}

void tcp_proxy::stall(bool on)
{
    impl_->stalled = on;
}

void tcp_proxy::half_open()
{
    impl_->on_thread([this] {
        for (auto& l : impl_->links)
            l->half_open = true;
    });
}

void tcp_proxy::refuse(bool on)
{
    impl_->refusing = on;
}

std::uint64_t tcp_proxy::connections_accepted() const noexcept
{
    return impl_->accepted.load();
}

}  // namespace es::test
