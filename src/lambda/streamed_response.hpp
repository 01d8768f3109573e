// A streamed response on its way to `/response`: the handler's
// `response_stream` writes through it to the poller's connection.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include <boost/asio/awaitable.hpp>

#include <muster/lambda/response_stream.hpp>

#include "error_report.hpp"
#include "runtime_api.hpp"

namespace muster::lambda::detail {

/// `client` must outlive it; nothing else uses the client's connection
/// from the first write to `finish`.
class streamed_response final : public response_stream::sink {
  public:
    streamed_response(runtime_api_client& client, std::string request_id)
        : client_(client), request_id_(std::move(request_id)) {}

    boost::asio::awaitable<void> open(std::string content_type) override;
    boost::asio::awaitable<void> write(std::string bytes) override;

    /// Ends the response: opens it if the handler wrote nothing, then sends
    /// the last chunk, with `failure` as the error trailers. The answer, or
    /// `std::nullopt` when an operation on the connection failed earlier
    /// (or never completed), so the post cannot be finished: the
    /// connection is dropped.
    ///
    /// Errors: `boost::system::system_error` when opening or ending fails.
    boost::asio::awaitable<std::optional<http_response>> finish(
        std::optional<error_report> failure);

    /// The route it posts to, for log lines.
    std::string path() const { return response_path(request_id_); }

    response_stream out{*this};

  private:
    runtime_api_client& client_;
    std::string request_id_;
    bool opened_ = false;
    bool broken_ = false;
};

}  // namespace muster::lambda::detail
