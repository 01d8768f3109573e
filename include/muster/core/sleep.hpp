/// @file
/// `sleep_for` and `sleep_until`: waits on the clock of the calling task's
/// scope.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <muster/core/detail/timer.hpp>
#include <muster/core/outcome.hpp>
#include <muster/core/scope.hpp>

namespace muster {

/// Waits until `at` on the clock of the calling task's scope: the steady
/// clock, or the scope's `time_source` (see `root_scope`), so a test on a
/// `muster::testing::manual_clock` runs the wait instantly and exactly.
///
/// Completion: once the clock reaches `at` (at once if it has).
/// Cancellation: any per-operation cancellation ends the wait with
/// `boost::system::system_error(operation_aborted)`, as a `steady_timer`
/// wait does; so a collection's timeout or deadline cuts it short.
///
/// @code
/// co_await muster::sleep_until(*co_await muster::current_deadline() - 50ms);
/// @endcode
inline boost::asio::awaitable<void> sleep_until(clock::time_point at) {
    detail::timer t(co_await boost::asio::this_coro::executor);
    t.expires_at(at);
    co_await t.async_wait(boost::asio::use_awaitable);
}

/// Waits `d` on the clock of the calling task's scope; see `sleep_until`.
///
/// @code
/// co_await muster::sleep_for(backoff);
/// @endcode
inline boost::asio::awaitable<void> sleep_for(clock::duration d) {
    detail::timer t(co_await boost::asio::this_coro::executor);
    t.expires_after(d);
    co_await t.async_wait(boost::asio::use_awaitable);
}

/// The time now on the clock of the calling task's scope.
///
/// Completion: immediately; never suspends, never throws.
inline boost::asio::awaitable<clock::time_point> now() {
    co_return detail::now(detail::time_source_of(co_await boost::asio::this_coro::executor));
}

}  // namespace muster
