#pragma once

#include <muster/emulator/emulator.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace muster::emulator {

namespace detail {
class invoke_server_state;
}

/// AWS's invoke route in front of an `emulator`, as AWS's Runtime Interface
/// Emulator exposes it, so curl and AWS SDKs (`--endpoint-url`) can call the
/// function: `POST /2015-03-31/functions/<name>/invocations`.
///
/// Answers: 200 with the function's response; on a function error 200 with
/// the error document and `X-Amz-Function-Error: Unhandled`; a streamed
/// response is passed on as it arrives, chunked, with the error (if any) in
/// the trailers `X-Amz-Function-Error` and `Lambda-Runtime-Function-Error-Type`;
/// 413 for a request over 6 MiB, 400 for an event that is not JSON, 404 for
/// any other route. `X-Amz-Invocation-Type: Event` answers 202 at once and
/// runs the invocation in the background; `DryRun` answers 204. Every answer
/// carries `x-amzn-RequestId`. Connections are HTTP/1.1 keep-alive.
///
/// Concurrent requests queue in the emulator, which runs up to its
/// `concurrency` of them at once. A client that goes away mid-invocation
/// does not stop the invocation; its answer is dropped with a log line.
///
/// Threading and lifetime as for `emulator`; the emulator must outlive the
/// server. The destructor closes the listening socket and every connection.
class invoke_server {
  public:
    /// Listens on `host`:`port` (port 0 picks a free one).
    /// Throws `boost::system::system_error` when it cannot.
    invoke_server(boost::asio::any_io_executor executor, emulator& function, std::string host,
                  std::uint16_t port, platform_log_sink log = {});
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
