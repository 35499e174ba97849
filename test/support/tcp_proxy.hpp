#pragma once
// A TCP proxy on 127.0.0.1 that a test controls, for cutting connections to real servers:
// drop every connection, stall traffic (bytes are held, connections stay open), or close one
// direction (half-open). Runs on its own thread; every method is thread-safe.
#include <cstdint>
#include <memory>

namespace es::test {

class tcp_proxy {
public:
    /// Listens on 127.0.0.1 (a free port) and forwards to 127.0.0.1:target_port.
    explicit tcp_proxy(unsigned short target_port);
    ~tcp_proxy();
    tcp_proxy(tcp_proxy const&) = delete;
    tcp_proxy& operator=(tcp_proxy const&) = delete;

    unsigned short port() const noexcept;

    /// Closes every open connection (both sides see a reset/EOF). New connections are accepted.
    void drop_connections();
    /// While stalled, bytes are not forwarded in either direction and new connections wait.
    void stall(bool on);
    /// Stops forwarding server -> client on open connections and closes the client's read side
    /// from the proxy's end without telling the server: a half-open connection.
    void half_open();
    /// Refuse new connections (they are closed right after accept) until allowed again.
    void refuse(bool on);

    std::uint64_t connections_accepted() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace es::test
