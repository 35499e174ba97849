// The fault-injection proxy itself, against a tiny echo server on loopback.
#include "../../support/tcp_proxy.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
// Echoes bytes back. Every connection thread is joined before the io_context goes away: a
// socket must never outlive its io_context.
struct echo_server {
    asio::io_context ioc;
    tcp::acceptor acceptor{ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    std::mutex mutex;
    std::vector<std::shared_ptr<tcp::socket>> sockets;
    std::vector<std::thread> workers;
    std::thread thread;
    echo_server()
    {
        thread = std::thread([this] {
            for (;;) {
                auto s = std::make_shared<tcp::socket>(ioc);
                boost::system::error_code ec;
                acceptor.accept(*s, ec);
                if (ec)
                    return;
                std::lock_guard lock(mutex);
                sockets.push_back(s);
                workers.emplace_back([s] {
                    char buf[256];
                    boost::system::error_code e;
                    for (;;) {
                        auto n = s->read_some(asio::buffer(buf), e);
                        if (e)
                            return;
                        asio::write(*s, asio::buffer(buf, n), e);
                        if (e)
                            return;
                    }
                });
            }
        });
    }
    ~echo_server()
    {
        // close() alone does not wake a thread blocked in accept() or read(); shutdown() does (Linux).
        ::shutdown(acceptor.native_handle(), SHUT_RDWR);
        thread.join();
        std::lock_guard lock(mutex);
        for (auto& s : sockets)
            ::shutdown(s->native_handle(), SHUT_RDWR);
        for (auto& w : workers)
            w.join();
    }
    unsigned short port() const { return acceptor.local_endpoint().port(); }
};

std::string round_trip(tcp::socket& s, std::string const& text, boost::system::error_code& ec)
{
    asio::write(s, asio::buffer(text), ec);
    if (ec)
        return {};
    std::string out(text.size(), '\0');
    asio::read(s, asio::buffer(out), ec);
    return out;
}
}  // namespace

TEST(TcpProxy, ForwardsAndDropsConnections)
{
    echo_server server;
    es::test::tcp_proxy proxy(server.port());
    asio::io_context ioc;
    tcp::socket s(ioc);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), proxy.port()));
    boost::system::error_code ec;
    EXPECT_EQ(round_trip(s, "hello", ec), "hello");
    EXPECT_FALSE(ec);
    proxy.drop_connections();
    round_trip(s, "again", ec);
    EXPECT_TRUE(ec) << "a dropped connection must fail";
    tcp::socket s2(ioc);
    s2.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), proxy.port()));
    EXPECT_EQ(round_trip(s2, "back", ec), "back");
    EXPECT_EQ(proxy.connections_accepted(), 2u);
}

TEST(TcpProxy, StallHoldsBytesUntilReleased)
{
    echo_server server;
    es::test::tcp_proxy proxy(server.port());
    asio::io_context ioc;
    tcp::socket s(ioc);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), proxy.port()));
    proxy.stall(true);
    asio::write(s, asio::buffer(std::string("wait")));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(s.available(), 0u) << "nothing may come back while stalled";
    proxy.stall(false);
    std::string out(4, '\0');
    asio::read(s, asio::buffer(out));
    EXPECT_EQ(out, "wait");
}

TEST(TcpProxy, HalfOpenSwallowsReplies)
{
    echo_server server;
    es::test::tcp_proxy proxy(server.port());
    asio::io_context ioc;
    tcp::socket s(ioc);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), proxy.port()));
    boost::system::error_code ec;
    EXPECT_EQ(round_trip(s, "one", ec), "one");
    proxy.half_open();
    asio::write(s, asio::buffer(std::string("two")), ec);
    EXPECT_FALSE(ec) << "writes still succeed on a half-open connection";
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(s.available(), 0u);
}
