/// @file
/// A STAND-IN for an HTTP GET, until muster's HTTP client exists. It sends
/// nothing over the network: it waits on a `steady_timer` for a latency and
/// answers with a status, both decided from the URL alone, so a run is
/// reproducible. Replace `stand_in_fetch` (and `stand_in_origin`) with the
/// real client's GET; the handler's use of muster does not change.
///
/// What the URL's query asks for:
/// - `latency_ms=N`: answer after N ms (default: 10..50 ms from a hash of
///   the URL).
/// - `fail=CODE`: answer with HTTP status CODE (100..599) instead of 200.
/// - `fail_times=N`: only the first N requests for this URL fail; later ones
///   succeed (a flaky origin, to show a retry working).
///
/// e.g. `https://img.example.com/a.jpg?latency_ms=30&fail=503&fail_times=1`
#pragma once

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include <boost/asio/awaitable.hpp>

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

/// A successful response.
struct fetched {
    int http_status = 200;
    std::size_t bytes = 0;
};

/// The stand-in's server side: it remembers how many requests each URL got,
/// which `fail_times` needs. Owned by one invocation (never a global, so
/// nothing carries over into the next warm invocation). Used only on the
/// io_context thread.
class stand_in_origin {
  public:
    /// Counts a request for `url`; returns how many it has had, this one
    /// included.
    unsigned request(const std::string& url) { return ++requests_[url]; }

  private:
    std::unordered_map<std::string, unsigned> requests_;
};

/// STAND-IN for `GET url`: waits for the URL's latency, then returns the
/// response or throws `http_error`.
///
/// Cancellation: the wait is an ordinary timer wait, so a `task_timeout` or
/// the deadline ends it at once (`operation_aborted`).
boost::asio::awaitable<fetched> stand_in_fetch(std::shared_ptr<stand_in_origin> origin,
                                               std::string url);

}  // namespace seed_patterns
