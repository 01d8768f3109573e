// The bounded backoff between attempts to reach the Runtime API, shared by
// every call the run loop retries (`/next`, `/response`, `/error`).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <muster/core/outcome.hpp>
#include <muster/core/time_source.hpp>
#include <muster/lambda/log.hpp>

namespace muster::lambda::detail {

/// Attempts at one Runtime API call: the first at once, then up to
/// `max_retries` more after 20 ms, 80 ms, 320 ms, then 1 s each (3.4 s in
/// all), waited on `time` (`run_options::time`; the steady clock when null).
///
/// @code
/// backoff attempts(ex, time);
/// while (co_await attempts.next()) {
///     try { co_return co_await client.next(); }
///     catch (const boost::system::system_error& e) { attempts.failed(log, "/next", e.what()); }
/// }
/// // attempts.made() attempts failed, the last with attempts.last_error()
/// @endcode
class backoff {
  public:
    static constexpr int max_retries = 6;

    backoff(boost::asio::any_io_executor ex, time_source* time);

    /// Waits out the delay before the next attempt, if one is left; false
    /// once every attempt has been made (without waiting).
    boost::asio::awaitable<bool> next();

    /// The attempt just made failed with `error`: remembered, and logged
    /// as "`what` failed (`error`); retrying in N ms" when a retry is left.
    void failed(const logger& log, std::string_view what, std::string error);

    int made() const noexcept { return made_; }
    const std::string& last_error() const noexcept { return last_error_; }
    /// Time since this backoff was created, on its clock.
    std::chrono::milliseconds elapsed() const noexcept;

  private:
    boost::asio::any_io_executor executor_;
    time_source* time_;
    clock::time_point start_;
    int made_ = 0;
    std::string last_error_;
};

}  // namespace muster::lambda::detail
