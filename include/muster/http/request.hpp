/// @file
/// `muster::http::request`: what `client::request` sends.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <muster/core/outcome.hpp>
#include <muster/http/headers.hpp>

namespace muster::http {

/// One HTTP/1.1 request. A plain value: build it, then pass it (by value)
/// to `client::request`.
///
/// The client adds `Host`, `User-Agent` (unless set here), `Content-Length`
/// (for a non-empty body, or any body with POST/PUT/PATCH) and keep-alive;
/// it never sends a header given here twice.
///
/// @code
/// muster::http::request r;
/// r.method = "PUT";
/// r.url = "http://127.0.0.1:9000/bucket/key";
/// r.headers.set("Content-Type", "application/json");
/// r.body = R"({"a":1})";
/// auto resp = co_await client.request(std::move(r));
/// @endcode
struct request {
    /// An HTTP method token, upper case by convention (`GET`, `POST`...).
    std::string method = "GET";
    /// An absolute http:// or https:// URL (see `url::parse`).
    std::string url;
    http::headers headers;
    std::string body;
    /// Overrides `options::request_timeout` for this request.
    std::optional<clock::duration> timeout;
};

/// True for methods a client may send twice without changing the outcome
/// (RFC 9110 §9.2.2): GET, HEAD, OPTIONS, TRACE, PUT, DELETE. Only these are
/// retried on a dead pooled connection.
bool is_idempotent(const std::string& method) noexcept;

}  // namespace muster::http
