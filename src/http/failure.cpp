#include "failure.hpp"

#include <algorithm>
#include <chrono>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include "tls.hpp"

namespace muster::http::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using boost::system::error_code;

namespace {

std::string ms_text(clock::duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

bool is_timeout(const error_code& ec) {
    return ec == beast::error::timeout || ec == asio::error::timed_out;
}

}  // namespace

error fail(const failure_context& f, phase where, const error_code& ec, SSL* ssl) {
    const std::string what = f.method + " " + f.url + ": ";
    if (f.cancelled) return error(error_kind::cancelled, f.url, what + "the request was cancelled");
    const auto now = clock::now();
    const bool timed_out = is_timeout(ec) || (ec == asio::error::operation_aborted &&
                                              now >= std::min(f.deadline, f.connect_deadline));
    if (timed_out || where == phase::wait) {
        std::string why;
        if (f.scope_bound && now >= f.scope_deadline) {
            why = "the deadline of the enclosing scope was reached after " + ms_text(now - f.start);
        } else if (where == phase::wait) {
            why = "no connection became free within " + ms_text(f.deadline - f.start) +
                  " (at most " + std::to_string(f.limit) + " per origin)";
        } else if (where != phase::exchange && f.connect_deadline < f.deadline) {
            why = "could not connect within the connect timeout";
        } else {
            why = "no complete response within " + ms_text(f.deadline - f.start);
        }
        return error(error_kind::timeout, f.url, what + why);
    }
    switch (where) {
        case phase::wait:
        case phase::resolve:
            return error(error_kind::resolve, f.url,
                         what + "cannot resolve the host: " + ec.message());
        case phase::connect:
            return error(error_kind::connect, f.url,
                         what +
                             (f.via.empty() ? "cannot connect: "
                                            : "cannot connect to the proxy " + f.via + ": ") +
                             ec.message());
        case phase::handshake:
            return error(error_kind::tls, f.url,
                         what + "TLS handshake failed: " + detail::describe_tls_failure(ssl, ec));
        case phase::exchange:
            break;
    }
    if (ec == bhttp::error::header_limit)
        return error(error_kind::header_too_large, f.url,
                     what + "the response header is larger than max_header_size");
    if (ec == bhttp::error::body_limit)
        return error(error_kind::body_too_large, f.url,
                     what +
                         "the response body is larger than the limit (max_body_size, or "
                         "max_streamed_body_size for a sink); connection dropped");
    if (ec == bhttp::error::partial_message || ec == bhttp::error::end_of_stream ||
        ec == asio::error::eof || ec == asio::error::connection_reset ||
        ec == asio::error::broken_pipe || ec == asio::ssl::error::stream_truncated) {
        return error(error_kind::closed, f.url,
                     what +
                         (f.got_bytes ? "the connection closed before the response was "
                                        "complete (truncated): "
                                      : "the connection closed before any response: ") +
                         ec.message());
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_chunk).category()) {
        return error(error_kind::protocol, f.url, what + "malformed response: " + ec.message());
    }
    return error(error_kind::closed, f.url, what + ec.message());
}

bool stale_connection_error(const error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
           ec == asio::ssl::error::stream_truncated;
}

}  // namespace muster::http::detail
