/// @file
/// `muster::http::options`: how a client connects, times out, limits and
/// verifies.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include <muster/core/options.hpp>
#include <muster/core/outcome.hpp>
#include <muster/core/stable_string.hpp>

namespace muster::http {

/// A client's settings. Every field has a usable default: verified HTTPS,
/// keep-alive pooling with at most 100 connections per origin, a 10 s
/// connect timeout, a 60 s request timeout, 64 MiB bodies.
///
/// Every time limit is also bounded by the deadline of the scope the request
/// runs in (`muster::remaining()`): inside a `gather` with a `task_timeout`,
/// or inside a Lambda invocation, a request never outlives its task.
///
/// Safe to write inline, even inside a `co_await` expression under GCC 12
/// (`muster::http::client c{co_await asio::this_coro::executor, {.user_agent
/// = "me"}};`): its strings are `muster::stable_string`s. The exception is a
/// `retry.retry_if` holding a callable with captures that own memory: name
/// such options before the `co_await` (see the README's compiler section).
struct options {
    /// Most connections open at once to one origin (scheme, host, port),
    /// idle ones included. Further requests wait for a free connection; the
    /// wait counts against their timeout. At least 1.
    std::size_t max_connections_per_origin = 100;

    /// Time allowed to resolve the name, connect and (for https) complete
    /// the TLS handshake.
    clock::duration connect_timeout = std::chrono::seconds(10);

    /// Time allowed to a whole request, from the call to the last byte of
    /// the body: waiting for a connection, connecting, sending, receiving.
    /// `request::timeout` overrides it per request.
    clock::duration request_timeout = std::chrono::seconds(60);

    /// An idle pooled connection older than this is closed, never reused.
    clock::duration idle_timeout = std::chrono::seconds(15);

    /// Largest response body accepted; a larger one (announced or streamed)
    /// fails the request with `error_kind::body_too_large` and drops the
    /// connection.
    std::size_t max_body_size = std::size_t{64} << 20;

    /// Largest body streamed to a `body_sink`; more is
    /// `error_kind::body_too_large`. Unlimited by default.
    std::uint64_t max_streamed_body_size = std::numeric_limits<std::uint64_t>::max();

    /// Largest response header (status line and fields) accepted; more is
    /// `error_kind::header_too_large`.
    std::size_t max_header_size = std::size_t{64} << 10;

    /// Verify the server's certificate chain and host name (https). Turning
    /// it off is for tests against throwaway servers only.
    bool verify_peer = true;

    /// A PEM file with extra CA certificates to trust, besides the system
    /// bundle (`SSL_CERT_FILE`, `/etc/ssl/certs/ca-certificates.crt` or
    /// `/etc/pki/tls/certs/ca-bundle.crt`, the first that exists).
    muster::stable_string extra_ca_file;

    /// PEM text of extra CA certificates to trust (same role as
    /// `extra_ca_file`, for certificates generated in memory).
    muster::stable_string extra_ca_pem;

    /// Sent as `User-Agent` unless the request sets one; empty sends none.
    muster::stable_string user_agent = "muster-http";

    /// Follow redirects (301, 302, 303, 307, 308 with a `Location`), at
    /// most `max_redirects` in a row; one more is
    /// `error_kind::too_many_redirects`. A 303, and a 301/302 answering a
    /// POST, continue as a GET without body. Credentials are not sent to
    /// another origin (scheme, host or port differ): `Authorization`,
    /// `Proxy-Authorization`, `Cookie`, and every `X-Amz-*` and `X-Goog-*`
    /// field (a SigV4 signature is bound to `X-Amz-Date` and
    /// `X-Amz-Content-Sha256`, `X-Amz-Security-Token` is a session
    /// credential, `X-Amz-Server-Side-Encryption-Customer-Key` a key) are
    /// dropped on a redirect that leaves the origin, and stay dropped if a
    /// later redirect comes back. Off: a redirect is returned as the
    /// response.
    bool follow_redirects = false;
    unsigned max_redirects = 10;

    /// Retries of idempotent requests (see `is_idempotent`) on connection
    /// errors (`connect`, `resolve`, `closed`) and on 429 and 5xx responses,
    /// with the core's backoff (`muster::retry_delay`); a `Retry-After` (seconds or an
    /// HTTP date) lengthens the delay. A retry whose delay would end past the
    /// request's deadline is not made: the last response is returned, or the
    /// last error thrown. `retry_if` (when set) is asked about errors only; one that
    /// throws makes the request fail with a `muster::retry_if_error`. The
    /// default, one attempt, never retries. Independent of (and multiplied
    /// with) the retries of an enclosing collection.
    muster::retry_policy retry;

    /// Ask for `gzip, deflate` (`Accept-Encoding`, unless the request sets
    /// it) and decode a body sent with `Content-Encoding: gzip` or
    /// `deflate`; the decoded size counts against `max_body_size`. Headers
    /// are returned as sent. Off: bodies are returned as they arrive.
    bool decompress = false;

    /// Proxies, as `http://host:port` (or `host:port`). Unset (the default):
    /// taken from the environment, `http_proxy`/`HTTP_PROXY`,
    /// `https_proxy`/`HTTPS_PROXY` and `no_proxy`/`NO_PROXY`; then a
    /// loopback host (`localhost`, 127.0.0.0/8, ::1) is never proxied. An
    /// empty string: no proxy. Plain http requests go to the proxy with the
    /// absolute URL; https ones through a `CONNECT` tunnel, with the TLS
    /// handshake and verification end to end. `no_proxy` is a comma-separated
    /// list of hosts, domains (`example.com` also covers `a.example.com`) and
    /// addresses, or `*`. A value that is not an http:// URL makes the client's
    /// constructor throw `std::invalid_argument`.
    std::optional<muster::stable_string> http_proxy;
    std::optional<muster::stable_string> https_proxy;
    std::optional<muster::stable_string> no_proxy;

    /// Send the running Lambda invocation's trace id as `X-Amzn-Trace-Id`
    /// unless the request sets one: the trace id of the root scope the
    /// request runs in (`muster::current_trace_id()`, one per invocation
    /// under muster's runtime), else `_X_AMZN_TRACE_ID` from the environment.
    bool send_trace_id = true;

    /// Throws `std::invalid_argument` naming the first field that makes no
    /// sense (a zero connection limit, a negative timeout...).
    void validate() const;
};

}  // namespace muster::http
