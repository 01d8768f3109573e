// Posting an invocation's answer (its response, its error, the end of its
// stream) and reading what the Runtime API says to it.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <muster/core/time_source.hpp>
#include <muster/lambda/log.hpp>

#include "error_report.hpp"
#include "runtime_api.hpp"
#include "streamed_response.hpp"

namespace muster::lambda::detail {

/// One attempt at a post: a route-named call of the client.
using post_attempt = std::function<boost::asio::awaitable<http_response>()>;

/// Posts to `path` with `send`, retrying transport failures with the
/// backoff on `time`, and logs the answer on `log` (see `accepted`).
/// `response_size` is what a 413 reports. False once the runtime must
/// stop: the Runtime API failed, or stayed unreachable (logged as fatal).
boost::asio::awaitable<bool> post_with_retries(boost::asio::any_io_executor ex, time_source* time,
                                               logger log, std::string path,
                                               std::size_t response_size, post_attempt send);

/// Ends `stream`, with `failure` as its error trailers (the handler failed
/// after its first write). A broken stream cannot be resent (its bytes are
/// gone): it is logged and the invocation fails on the platform's side.
/// False once the runtime must stop.
boost::asio::awaitable<bool> finish_stream(logger log, streamed_response& stream,
                                           std::optional<error_report> failure);

/// Logs what the Runtime API's answer `r` to a post to `path` (a
/// `streamed` response or not, of `response_size` bytes) says: 2xx is
/// silent; 400, 403 and 413 are errors the loop goes on after (on 413
/// Lambda reports the oversized response to the caller itself). False on
/// a 5xx (logged as fatal): the runtime must stop.
bool accepted(const http_response& r, const logger& log, const std::string& path,
              std::size_t response_size, bool streamed);

}  // namespace muster::lambda::detail
