/// @file
/// Scopes: the deadline every task inherits from the collection (or
/// invocation) that runs it, carried by the task's executor. The queries a
/// task makes of its scope are here; the adapter is `scope_executor.hpp`, the
/// root `root_scope.hpp`, both included.
#pragma once

#include <algorithm>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>

#include <muster/core/detail/scope_access.hpp>
#include <muster/core/outcome.hpp>
#include <muster/core/root_scope.hpp>
#include <muster/core/scope_executor.hpp>

namespace muster {

/// The effective deadline of the calling task: the earliest deadline of the
/// scopes it runs in (its own `task_timeout`, its collection's deadline, the
/// invocation's), or `std::nullopt` when none applies.
///
/// Completion: immediately; never suspends, never throws.
inline boost::asio::awaitable<std::optional<clock::time_point>> current_deadline() {
    auto d = detail::deadline_of(co_await boost::asio::this_coro::executor);
    if (d == clock::time_point::max()) co_return std::nullopt;
    co_return d;
}

/// The trace id of the root scope the calling task runs in (see
/// `root_scope`), or an empty string outside one or when it has none.
///
/// Completion: immediately; never suspends, never throws.
inline boost::asio::awaitable<std::string> current_trace_id() {
    co_return std::string(detail::trace_id_of(co_await boost::asio::this_coro::executor));
}

/// Time left until the calling task's effective deadline (zero once it has
/// passed), or `clock::duration::max()` when no deadline applies. Counted
/// on the scope's clock (see `root_scope`'s `time`).
///
/// Completion: immediately; never suspends, never throws.
///
/// @code
/// if (co_await muster::remaining() < 200ms) co_return cached_answer();
/// @endcode
inline boost::asio::awaitable<clock::duration> remaining() {
    const auto ex = co_await boost::asio::this_coro::executor;
    const auto d = detail::deadline_of(ex);
    if (d == clock::time_point::max()) co_return clock::duration::max();
    co_return std::max(clock::duration::zero(), d - detail::now(detail::time_source_of(ex)));
}

}  // namespace muster
