/// @file
/// `muster::http::client`: an HTTP/1.1 and HTTPS client with a keep-alive
/// connection pool, built for fan-out inside muster's collections.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <muster/http/error.hpp>
#include <muster/http/headers.hpp>
#include <muster/http/options.hpp>
#include <muster/http/request.hpp>
#include <muster/http/response.hpp>

namespace muster::http {

/// Receives a response body piece by piece, in order, as it arrives (see
/// `client::request(request, body_sink)`). Called on the client's thread; an
/// exception it throws ends the request (its connection is closed) and
/// propagates unchanged from `request`.
using body_sink = std::function<void(std::string_view piece)>;

/// What the pool of one origin holds right now (see `client::stats`).
struct pool_stats {
    std::size_t idle = 0;     ///< Open connections waiting in the pool.
    std::size_t in_use = 0;   ///< Connections (or connection attempts) serving a request.
    std::size_t waiting = 0;  ///< Requests waiting for a connection (the limit is reached).
    std::size_t opened = 0;   ///< Connections opened since the client was made.
};

/// An HTTP/1.1 client over plain TCP or TLS, with one pool of keep-alive
/// connections per origin.
///
/// Completion: `request` completes with the whole `response` (any status
/// code) once its body has arrived, or throws `muster::http::error`.
///
/// Errors: every failure is an `error` with a kind (`connect`, `tls`,
/// `timeout`, `protocol`, `closed`, `body_too_large`, `cancelled`...), the
/// URL and a message; the connection it happened on is closed, never
/// returned to the pool. A pooled connection that turns out dead before any
/// byte of the response arrived is replaced once, transparently, for
/// idempotent methods.
///
/// Timeouts: connecting is bounded by `options::connect_timeout`, the whole
/// request by `options::request_timeout` (or `request::timeout`), and both by
/// the deadline of the scope the calling coroutine runs in (a `gather`'s
/// `task_timeout` or deadline, a Lambda invocation's deadline). When that
/// deadline is the binding one, the collection that owns it cancels the
/// request at the deadline (its outcome is `timed_out`); where nothing
/// cancels (a root scope), the request ends itself a millisecond later with
/// `error_kind::timeout`.
///
/// Cancellation: terminal cancellation of the calling coroutine (what
/// muster's collections use) ends the request at once: its connection is
/// closed and its pool slot freed before `request` completes with
/// `error_kind::cancelled`. A request waiting for a free connection simply
/// stops waiting.
///
/// Lifetime: copies share one pool; the pool lives until the last copy and
/// the last request (awaited or not yet awaited) are gone, so the client
/// object may be destroyed while requests it made are still running. Idle
/// connections hold no pending operation, so an idle pool never keeps
/// `io_context::run()` from returning. The io_context must outlive the pool.
///
/// Thread-safety: not thread-safe. Make the client and call it from
/// coroutines on the one thread that runs its executor.
///
/// @code
/// awaitable<std::string> body_of(muster::http::client c, std::string url) {
///     auto r = co_await c.get(std::move(url));
///     if (!r.ok()) throw std::runtime_error("HTTP " + std::to_string(r.status));
///     co_return std::move(r.body);
/// }
/// // ... in a coroutine on the io_context:
/// auto ex = co_await boost::asio::this_coro::executor;
/// muster::http::client c{ex};
/// auto fetch = [c](const std::string& url) { return body_of(c, url); };
/// auto tasks = urls | std::views::transform(fetch);
/// auto results = co_await muster::gather(tasks, o);
/// @endcode
class client {
  public:
    /// A client whose connections live on `ex` (an io_context's executor or
    /// one muster derived from it). A scope `ex` carries is not kept: pooled
    /// connections outlive the collection or invocation that made them,
    /// while each request obeys the scope of its caller. Throws
    /// `std::invalid_argument` for invalid options or proxy settings (see
    /// `options::http_proxy`). The TLS context (CA bundle, `extra_ca_file`,
    /// `extra_ca_pem`) is loaded on the first https request, which fails
    /// with `error_kind::tls` if it cannot be.
    ///
    /// Options written inline are fine, even in the same expression as a
    /// `co_await` under GCC 12 (`client c{co_await
    /// asio::this_coro::executor, {.user_agent = "me"}};`), unless their
    /// `retry.retry_if` holds a callable with captures: name those options
    /// first (see the README's compiler caveat).
    client(boost::asio::any_io_executor ex, http::options o);
    /// A client with default options.
    explicit client(boost::asio::any_io_executor ex);

    /// Sends `r` and returns the response. See the class for completion,
    /// errors, timeouts and cancellation.
    ///
    /// GCC 12: build `r` as a named variable, not inline in the `co_await`
    /// expression (`co_await c.request({.method = "POST", ...})` frees its
    /// strings twice; see the README's compiler caveat).
    boost::asio::awaitable<response> request(http::request r) const;

    /// Sends `r` and streams the final response's body to `sink` instead of
    /// holding it: the returned `response` has the status and headers and an
    /// empty body. The body is bounded by `options::max_streamed_body_size`
    /// (unlimited by default; the request timeout still applies), not by
    /// `max_body_size`. Bodies of responses that are followed (redirects) or
    /// retried never reach the sink. With `options::decompress`, a gzip or
    /// deflate body is decoded on the way and the sink gets the decoded
    /// bytes (their total bounded by `max_streamed_body_size`); a corrupt or
    /// truncated encoding fails the request with `error_kind::protocol`
    /// after the sink got what decoded cleanly.
    ///
    /// @code
    /// std::ofstream file("object.bin", std::ios::binary);
    /// auto sink = [&file](std::string_view piece) { file.write(piece.data(), piece.size()); };
    /// auto r = co_await c.request(std::move(req), sink);
    /// @endcode
    boost::asio::awaitable<response> request(http::request r, body_sink sink) const;

    /// `GET url` with the extra header fields `h`.
    boost::asio::awaitable<response> get(std::string url, http::headers h = {}) const;

    /// The state of the pool of `origin` (as `url::origin()` spells it, e.g.
    /// `"http://127.0.0.1:8080"`); all zero for an origin never used.
    pool_stats stats(std::string_view origin) const;

    /// Closes every idle connection now. Connections in use are unaffected.
    void close_idle() const;

    const http::options& options() const noexcept;
    boost::asio::any_io_executor get_executor() const;

    struct state;

  private:
    std::shared_ptr<state> state_;
};

}  // namespace muster::http
