#pragma once

#include <muster/emulator/emulator.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace muster::emulator {

namespace detail {
class invoke_server_state;
}

/// How long `invoke_server` waits for a client, and how many it serves at
/// once. The defaults suit a local server that AWS SDKs keep connections to.
struct invoke_server_options {
    /// A connection with no request in progress (a new one, or a keep-alive
    /// one between requests) is closed, without an answer, after this.
    std::chrono::milliseconds idle_timeout{60000};

    /// A request's header must be complete this long after its first byte
    /// arrived; otherwise the client gets 408 and the connection is closed.
    std::chrono::milliseconds header_timeout{10000};

    /// A request's body must be complete this long after its header; otherwise
    /// 408 and the connection is closed. The same bound applies to a client
    /// taking an answer (or one chunk of a streamed answer): a client that
    /// stops reading is disconnected.
    std::chrono::milliseconds body_timeout{30000};

    /// Connections served at once. At the cap the server stops accepting:
    /// new connections wait in the kernel's listen backlog and are served as
    /// soon as an open one closes (the way nginx and Go's LimitListener
    /// behave), rather than costing a descriptor each for a 503.
    std::size_t max_connections = 256;
};

/// AWS's invoke route in front of an `emulator`, as AWS's Runtime Interface
/// Emulator exposes it, so curl and AWS SDKs (`--endpoint-url`) can call the
/// function: `POST /2015-03-31/functions/<name>/invocations`.
///
/// Answers: 200 with the function's response; on a function error 200 with
/// the error document and `X-Amz-Function-Error: Unhandled`; a streamed
/// response is passed on as it arrives, chunked, with the function's
/// `Content-Type`, with the error (if any) in
/// the trailers `X-Amz-Function-Error` and `Lambda-Runtime-Function-Error-Type`;
/// 413 for a request over 6 MiB (6,291,456 bytes; with `Expect: 100-continue`
/// at once, from the declared `Content-Length`, without `100 Continue`), 400
/// for an event that is not JSON and for an `X-Amz-Invocation-Type` other
/// than `RequestResponse` (the default), `Event` or `DryRun`
/// (`ValidationException`), 404 for any other route. `Event` answers 202 at
/// once and runs the invocation in the background; `DryRun` answers 204.
/// Every answer to an invocation that ran carries its `x-amzn-RequestId`;
/// refusals (4xx: the request never became an invocation) do not.
/// Connections are HTTP/1.1
/// keep-alive; pipelined requests are answered in order.
///
/// Hostile and careless clients (see `invoke_server_options`): idle, slow
/// header and slow body timeouts (408 when an answer is still possible), a
/// connection cap, and a growing delay (10 ms to 1 s, one log line per
/// episode) between attempts when `accept` fails for lack of descriptors,
/// buffers or memory. A client that half-closes (`shutdown(SHUT_WR)`) after
/// its request(s) still gets every answer.
///
/// Concurrent requests queue in the emulator, which runs up to its
/// `concurrency` of them at once. A client that goes away mid-invocation
/// (its connection is reset, or an answer cannot be written) does not stop
/// the invocation; its answer is dropped with a log line.
///
/// Threading and lifetime as for `emulator`; the emulator must outlive the
/// server. The destructor closes the listening socket and every connection.
class invoke_server {
  public:
    /// Listens on `host`:`port` (port 0 picks a free one). `log` receives the
    /// server's own lines (stderr when empty).
    /// Throws `boost::system::system_error` when it cannot listen, and
    /// `std::invalid_argument` when `options.max_connections` is 0.
    invoke_server(boost::asio::any_io_executor executor, emulator& function, std::string host,
                  std::uint16_t port, platform_log_sink log = {},
                  invoke_server_options options = {});
    ~invoke_server();

    invoke_server(const invoke_server&) = delete;
    invoke_server& operator=(const invoke_server&) = delete;

    /// The port actually listened on.
    std::uint16_t port() const noexcept;

    /// Stops accepting and closes every connection.
    void close();

  private:
    std::shared_ptr<detail::invoke_server_state> state_;
};

}  // namespace muster::emulator
