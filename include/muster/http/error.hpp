/// @file
/// `muster::http::error`: the one exception type of muster's HTTP client.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace muster::http {

/// What went wrong with a request, as a category a caller can branch on.
enum class error_kind : unsigned char {
    invalid_url,         ///< The URL is not an absolute http:// or https:// URL.
    invalid_request,     ///< The request itself is malformed (bad method, header, ...).
    resolve,             ///< The host name could not be resolved.
    connect,             ///< No TCP connection could be made (refused, unreachable).
    tls,                 ///< The TLS handshake failed, including certificate verification.
    timeout,             ///< The connect timeout, the request timeout or the deadline expired.
    protocol,            ///< The server broke HTTP/1.1: bad syntax, broken chunks, truncation.
    closed,              ///< The connection was closed or reset before the response completed.
    header_too_large,    ///< The response header exceeded `options::max_header_size`.
    body_too_large,      ///< The response body exceeded `options::max_body_size`.
    too_many_redirects,  ///< More than `options::max_redirects` redirects were followed.
    cancelled,           ///< The awaiting coroutine was cancelled (e.g. by its collection).
};

/// The name of `k`, e.g. `"timeout"`.
std::string_view to_string(error_kind k) noexcept;

/// Thrown by `client::request` and `client::get` when no complete response
/// could be obtained. A response with any status code (404, 500...) is not an
/// error: it is returned.
///
/// `what()` is one line naming the kind, the method and URL, and the cause,
/// e.g. `"muster::http timeout: GET http://127.0.0.1:8080/slow: no complete
/// response within 500 ms"`.
///
/// Neither `what()` nor `url()` carries the credentials of a presigned URL:
/// the URL is shown as `muster::http::redacted` gives it, wherever the
/// message names it, so an error can be logged as it is.
///
/// Thread-safety: immutable once thrown; copies may be read on any thread.
class error : public std::runtime_error {
  public:
    /// `url` is the request's URL as written; `message` may name it.
    error(error_kind kind, std::string url, const std::string& message);

    /// The category of the failure.
    error_kind kind() const noexcept { return kind_; }
    /// The URL of the request that failed (the last one, after redirects),
    /// redacted (see `muster::http::redacted`).
    const std::string& url() const noexcept { return url_; }

  private:
    error(error_kind kind, std::string shown, std::string_view url, const std::string& message);

    error_kind kind_;
    std::string url_;
};

}  // namespace muster::http
