/// @file
/// The example's image host: a real HTTP/1.1 server on 127.0.0.1, so the
/// `images` pattern fetches over real sockets through `muster::http` without
/// reaching the internet. It serves any path of any host name (the request's
/// `Host`), and the URL's query decides the answer, so a run is
/// reproducible:
/// - `latency_ms=N`: answer after N ms (default: 10..50 ms from a hash of
///   the host, path and query).
/// - `fail=CODE`: answer with HTTP status CODE (400..599) instead of 200.
/// - `fail_times=N`: only the first N requests fail (a flaky origin, to show
///   a retry working). Requests are counted per `X-Seed-Invocation` header,
///   host, path and query, so nothing carries over from one invocation into
///   the next.
/// A 200 carries 20..200 KB of bytes (the size from the same hash).
///
/// e.g. `GET /catalog/a.jpg?latency_ms=30&fail=503&fail_times=1` with
/// `Host: images.example.com`.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace seed_patterns {

/// A running image host. It runs on a thread of its own (its own
/// io_context), as a separate server would; the destructor stops it and
/// joins the thread.
class image_host {
  public:
    /// Listens on 127.0.0.1 on a free port. Throws `std::system_error` when
    /// it cannot.
    image_host();
    ~image_host();
    image_host(const image_host&) = delete;
    image_host& operator=(const image_host&) = delete;

    /// `http://127.0.0.1:<port>`.
    std::string origin() const;
    std::uint16_t port() const noexcept;

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace seed_patterns
