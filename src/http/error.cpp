#include <muster/http/error.hpp>

#include <stdexcept>
#include <string>

#include <muster/http/options.hpp>
#include <muster/http/redacted.hpp>
#include <muster/http/request.hpp>

namespace muster::http {

std::string_view to_string(error_kind k) noexcept {
    switch (k) {
        case error_kind::invalid_url:
            return "invalid_url";
        case error_kind::invalid_request:
            return "invalid_request";
        case error_kind::resolve:
            return "resolve";
        case error_kind::connect:
            return "connect";
        case error_kind::tls:
            return "tls";
        case error_kind::timeout:
            return "timeout";
        case error_kind::protocol:
            return "protocol";
        case error_kind::closed:
            return "closed";
        case error_kind::header_too_large:
            return "header_too_large";
        case error_kind::body_too_large:
            return "body_too_large";
        case error_kind::too_many_redirects:
            return "too_many_redirects";
        case error_kind::cancelled:
            return "cancelled";
    }
    return "unknown";
}

namespace {

/// `message` with every occurrence of `url` in its redacted form: the messages
/// name the URL they are about, and this is the one place that makes sure
/// none of them carries its credentials.
std::string without_credentials(std::string message, std::string_view url, std::string_view shown) {
    if (url.empty() || url == shown) return message;
    for (auto at = message.find(url); at != std::string::npos; at = message.find(url, at)) {
        message.replace(at, url.size(), shown);
        at += shown.size();
    }
    return message;
}

}  // namespace

error::error(error_kind kind, std::string url, const std::string& message)
    : error(kind, redacted(url), url, message) {}

error::error(error_kind kind, std::string shown, std::string_view url, const std::string& message)
    : std::runtime_error("muster::http " + std::string(to_string(kind)) + ": " +
                         without_credentials(message, url, shown)),
      kind_(kind),
      url_(std::move(shown)) {}

void options::validate() const {
    if (max_connections_per_origin == 0)
        throw std::invalid_argument(
            "muster::http::options: max_connections_per_origin must be at least 1");
    if (connect_timeout <= clock::duration::zero())
        throw std::invalid_argument("muster::http::options: connect_timeout must be positive");
    if (request_timeout <= clock::duration::zero())
        throw std::invalid_argument("muster::http::options: request_timeout must be positive");
    if (idle_timeout < clock::duration::zero())
        throw std::invalid_argument("muster::http::options: idle_timeout must not be negative");
    if (max_header_size == 0 || max_header_size > 0xffffffffu)
        throw std::invalid_argument(
            "muster::http::options: max_header_size must be between 1 and 4 GiB");
}

bool is_idempotent(const std::string& method) noexcept {
    return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" ||
           method == "PUT" || method == "DELETE";
}

}  // namespace muster::http
