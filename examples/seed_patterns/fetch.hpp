/// @file
/// The `images` pattern's GET, through `muster::http`.
///
/// The seed's events name images on hosts such as `images.example.com`.
/// Where those are fetched from is configuration (`image_source`): by
/// default the example's own image host on 127.0.0.1 (image_host.hpp)
/// serves every one of them, so the example runs anywhere, over real
/// sockets, reproducibly; a deployment points it at a real origin or fetches
/// the URLs as written.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

#include <boost/asio/awaitable.hpp>

#include <muster/http/client.hpp>

namespace seed_patterns {

/// The origin answered with a status other than 2xx.
class http_error : public std::runtime_error {
  public:
    http_error(int status, const std::string& url);

    int status_code() const noexcept { return status_; }

    /// True for statuses worth retrying: 408, 425, 429 and 5xx.
    bool transient() const noexcept;

  private:
    int status_;
};

/// Where image URLs are fetched from.
struct image_source {
    /// `scheme://host:port` that serves every image, whatever host its URL
    /// names (the path and query are kept and the URL's host is sent as
    /// `Host`, as to a CDN edge); empty: fetch each URL as written.
    std::string origin;
};

/// The source configured by `SEED_PATTERNS_IMAGE_ORIGIN`: unset, the
/// example's image host (started on first use, kept for the life of the
/// process, so warm invocations reuse it); `direct`, each URL as written;
/// anything else, that origin. Throws `std::invalid_argument` for a value
/// that is not an http(s) origin.
const image_source& configured_image_source();

/// A successful response.
struct fetched {
    int http_status = 200;
    std::size_t bytes = 0;
};

/// `GET url` from `source` through `client`, tagged with `invocation` (the
/// image host counts `fail_times` per invocation). Returns the 2xx response's
/// size; throws `http_error` for any other status and `muster::http::error`
/// when no response came.
///
/// Cancellation: what `muster::http::client::request` does: a `task_timeout`
/// or deadline ends the request at once and closes its connection.
boost::asio::awaitable<fetched> fetch(muster::http::client client, const image_source& source,
                                      std::string url, std::string invocation);

}  // namespace seed_patterns
