// The transport to the Lambda Runtime API: where it is, and one keep-alive
// HTTP/1.1 connection per poller. Knows routes and status codes, nothing of
// handlers or invocations.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "error_report.hpp"

namespace muster::lambda::detail {

/// Where the Runtime API listens, parsed from `AWS_LAMBDA_RUNTIME_API`:
/// `host:port`, optionally with `http://` and a path prefix.
struct endpoint {
    std::string host;
    std::string port;
    std::string prefix;  ///< Empty, or a path starting with '/' and no trailing '/'.

    /// `prefix` + `path` (which starts with '/').
    std::string target(std::string_view path) const;
};

/// Errors: `std::invalid_argument` naming what is wrong with `value`.
endpoint parse_endpoint(std::string_view value);

/// The request id as it may appear in a path segment (percent-encoded
/// where it holds anything but unreserved characters).
std::string encode_path_segment(std::string_view segment);

using http_response = boost::beast::http::response<boost::beast::http::string_body>;

/// One header to send besides the ones every request carries.
struct header {
    std::string name;
    std::string value;
};

/// The Runtime API's routes (below the endpoint's prefix), as log lines
/// name them.
std::string response_path(std::string_view request_id);
std::string error_path(std::string_view request_id);
inline constexpr std::string_view init_error_path = "/2018-06-01/runtime/init/error";

/// A keep-alive connection to the Runtime API, opened on first use and
/// reopened after the server closes it. One call per route; each returns
/// the server's answer, whatever its status.
///
/// Errors: `boost::system::system_error` when the server cannot be reached
/// or answers with something that is not HTTP. A request on a reused
/// connection that fails before any answer arrived is sent once more on a
/// fresh one (the server may have closed an idle connection).
class runtime_api_client {
  public:
    runtime_api_client(boost::asio::any_io_executor ex, endpoint ep);

    /// `GET /2018-06-01/runtime/invocation/next`: long-polls, never times out.
    boost::asio::awaitable<http_response> next();
    /// `POST /2018-06-01/runtime/invocation/{request_id}/response`.
    boost::asio::awaitable<http_response> post_response(std::string request_id, std::string body,
                                                        std::string content_type);
    /// `POST /2018-06-01/runtime/invocation/{request_id}/error`: `error`'s
    /// document, its type in `Lambda-Runtime-Function-Error-Type`.
    boost::asio::awaitable<http_response> post_error(std::string request_id, error_report error);
    /// `POST /2018-06-01/runtime/init/error`, as `post_error`.
    boost::asio::awaitable<http_response> post_init_error(error_report error);

    /// Starts a streamed `POST .../invocation/{request_id}/response`: sends
    /// the request's head with `Transfer-Encoding: chunked`, the streaming
    /// response mode and a `Trailer` header announcing the error trailers.
    /// The body follows with `write_chunk` and ends with
    /// `finish_response_stream`; nothing else may use the connection
    /// meanwhile. A reused connection that fails here is replaced once.
    boost::asio::awaitable<void> begin_response_stream(std::string request_id,
                                                       std::string content_type);
    /// Sends `bytes` (not empty) as one chunk; completes once the socket
    /// has them.
    boost::asio::awaitable<void> write_chunk(std::string bytes);
    /// Sends the last chunk, with `failure` as the error trailers when
    /// there is one, and reads the answer.
    boost::asio::awaitable<http_response> finish_response_stream(
        std::optional<error_report> failure);
    /// Drops the connection (a stream that cannot be finished).
    void abandon_stream();

    const endpoint& where() const noexcept { return endpoint_; }

  private:
    boost::asio::awaitable<http_response> post(std::string path, std::string body,
                                               std::string content_type,
                                               std::vector<header> headers = {});
    boost::asio::awaitable<http_response> exchange(
        boost::beast::http::request<boost::beast::http::string_body> request);
    boost::asio::awaitable<void> connect();
    boost::asio::awaitable<http_response> read_answer();
    /// The parsed answer; closes a connection the server will not keep.
    http_response release(
        boost::beast::http::response_parser<boost::beast::http::string_body>& parser);

    endpoint endpoint_;
    boost::beast::tcp_stream stream_;
    boost::beast::flat_buffer buffer_;
    bool connected_ = false;
};

/// How much a Runtime API answer may hold: a 6 MiB payload with room to
/// spare, so an oversized one is still read and reported, not cut off.
inline constexpr std::size_t max_payload_bytes = 16 * 1024 * 1024;

}  // namespace muster::lambda::detail
