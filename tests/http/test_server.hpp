/// @file
/// A small HTTP/1.1 server for the client's tests, written on raw Asio
/// sockets (no Beast, no code shared with muster::http), running on its own
/// thread. The path chooses the behaviour, well-behaved or hostile:
///
/// - `/ok?size=N&delay=MS`: 200 with N bytes (default "hello"), after MS ms; keep-alive.
/// - `/chunked`: 200 in three chunks.
/// - `/echo`: 200 echoing the request body and method.
/// - `/close`: 200 with `Connection: close`, then closes.
/// - `/flaky`: answers the first request of a connection; closes the
///   connection without answering any later one (a keep-alive race).
/// - `/never`: reads on and never answers.
/// - `/slow`: sends the response one byte per second.
/// - `/truncate`: announces 1000 bytes, sends 10, closes.
/// - `/badchunk`: a chunked body with an invalid chunk size.
/// - `/reset`: announces 100000 bytes, sends 100, resets the connection.
/// - `/bigheaders`: 1 MB of header fields.
/// - `/endless`: a chunked body that never ends.
/// - `/headers`: 200 echoing the request's header block.
/// - `/redirect?to=PATH&status=N`: a redirect (302 by default) to PATH.
/// - `/loop`: redirects to itself.
/// - `/busy?n=N&after=S`: 503 with `Retry-After: S` (default 0) for the
///   first N (default 2) `/busy` requests of the server, then 200 "ready".
/// - `/badgzip`: `Content-Encoding: gzip` on a body that is not gzip.
///
/// Counts connections so tests can observe pooling from the server side.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace muster_test {

class test_server {
  public:
    test_server();
    ~test_server();
    test_server(const test_server&) = delete;
    test_server& operator=(const test_server&) = delete;

    /// `http://127.0.0.1:PORT` + `path`.
    std::string url(const std::string& path) const;
    /// `http://127.0.0.1:PORT`, as `url::origin()` spells it.
    std::string origin() const;
    std::uint16_t port() const noexcept { return port_; }

    /// Connections accepted so far.
    std::size_t accepted() const noexcept { return accepted_.load(); }
    /// Connections open right now (closed by either side are not counted).
    std::size_t open() const noexcept { return open_.load(); }
    /// Most connections open at once so far.
    std::size_t max_open() const noexcept { return max_open_.load(); }
    /// Requests received so far.
    std::size_t requests() const noexcept { return requests_.load(); }

    struct counters {
        std::atomic<std::size_t>* open;
        std::atomic<std::size_t>* max_open;
        std::atomic<std::size_t>* busy;
    };

  private:
    // The counters come first: connection frames still running when the
    // io_context is destroyed count themselves out of them.
    std::atomic<std::size_t> accepted_{0};
    std::atomic<std::size_t> open_{0};
    std::atomic<std::size_t> max_open_{0};
    std::atomic<std::size_t> requests_{0};
    std::atomic<std::size_t> busy_{0};
    std::uint16_t port_ = 0;
    boost::asio::io_context io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::thread thread_;
};

/// A forward proxy on 127.0.0.1 (raw Asio, own thread): `CONNECT host:port`
/// opens a tunnel; any other request names an absolute URL and is passed on
/// unchanged to that URL's host and port (the test server accepts the
/// absolute form), and the connection is piped from then on. With
/// `refuse_connect`, every CONNECT is answered 403.
class test_proxy {
  public:
    explicit test_proxy(bool refuse_connect = false);
    ~test_proxy();
    test_proxy(const test_proxy&) = delete;
    test_proxy& operator=(const test_proxy&) = delete;

    /// `http://127.0.0.1:PORT`.
    std::string url() const;
    /// CONNECT tunnels opened, and plain requests forwarded (first requests
    /// of a connection only).
    std::size_t tunnels() const noexcept { return tunnels_.load(); }
    std::size_t forwarded() const noexcept { return forwarded_.load(); }

  private:
    std::atomic<std::size_t> tunnels_{0};
    std::atomic<std::size_t> forwarded_{0};
    bool refuse_;
    std::uint16_t port_ = 0;
    boost::asio::io_context io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::thread thread_;
};

/// A port on 127.0.0.1 that nothing listens on (bound, then closed).
std::uint16_t unused_port();

}  // namespace muster_test
