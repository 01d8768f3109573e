#pragma once

// What s3.cpp and dynamodb.cpp share: one signed call with AWS's retries.

#include <string>

#include <boost/asio/awaitable.hpp>

#include <muster/aws/config.hpp>
#include <muster/aws/error.hpp>
#include <muster/aws/sigv4.hpp>
#include <muster/http/client.hpp>
#include <muster/http/request.hpp>
#include <muster/http/response.hpp>

namespace muster::aws::detail {

/// Turns an error response into the service's error.
using error_parser = aws::error (*)(const http::response&);

/// One call: `request` unsigned; `params` without a time (each attempt is
/// signed at its own time).
struct call {
    http::request request;
    signing_params params;
    error_parser parse = nullptr;
    /// Streams the body of a successful response (see s3::get_object).
    http::body_sink sink;
};

/// Sends `c`, retrying throttling, 5xx and connection failures per `retry`
/// within the calling scope's deadline. Returns a 2xx (or 3xx) response;
/// throws `aws::error` for an error response and `http::error` for no
/// response.
boost::asio::awaitable<http::response> send(http::client client, muster::retry_policy retry,
                                            call c);

/// True for error codes AWS's SDKs retry as throttling or transient.
bool retryable_code(std::string_view code) noexcept;

/// The text of the first `<tag>...</tag>` in `xml`, entities decoded, or empty.
std::string xml_text(std::string_view xml, std::string_view tag);

/// A base URL of the config without trailing slash, validated.
std::string base_url(std::string_view text, std::string_view variable);

}  // namespace muster::aws::detail
