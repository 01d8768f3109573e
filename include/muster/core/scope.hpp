/// @file
/// Scopes: the deadline every task inherits from the collection (or
/// invocation) that runs it, carried by the task's executor. The queries of
/// a scope are here: from inside a task (`remaining()`, `current_deadline()`,
/// `current_trace_id()`) and of an executor a task was given (`deadline_of`,
/// `trace_id_of`, `without_scope`). The adapter is `scope_executor.hpp`, the
/// root `root_scope.hpp`, both included.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>

#include <muster/core/detail/scope_access.hpp>
#include <muster/core/outcome.hpp>
#include <muster/core/root_scope.hpp>
#include <muster/core/scope_executor.hpp>

namespace muster {

/// The effective deadline of the scope `ex` carries: the earliest deadline
/// of its scopes (a task's own `task_timeout`, its collection's deadline,
/// the invocation's), as a point on the scope's clock (see `root_scope`'s
/// `time`). `clock::time_point::max()` when `ex` carries no scope or no
/// deadline applies.
///
/// The executor form of `current_deadline()`, for code that holds the task's
/// executor rather than awaiting it: an initiating function, a library that
/// bounds its own I/O by the caller's deadline.
///
/// Never throws; may be called on any thread.
///
/// @code
/// auto ex = co_await boost::asio::this_coro::executor;
/// auto until = std::min(muster::deadline_of(ex), clock::now() + 5s);
/// socket.expires_at(until);
/// @endcode
inline clock::time_point deadline_of(const boost::asio::any_io_executor& ex) noexcept {
    return detail::deadline_of(ex);
}

/// The trace id of the root scope `ex` carries (see `root_scope`), or an
/// empty view when `ex` carries no scope or its root has no trace id.
///
/// Lifetime: the view is valid as long as `ex`, or any other executor or the
/// `root_scope` of the same scope, is alive; copy it to keep it longer.
/// Never throws; may be called on any thread.
///
/// @code
/// auto ex = co_await boost::asio::this_coro::executor;
/// if (auto id = muster::trace_id_of(ex); !id.empty())
///     req.headers.set("X-Amzn-Trace-Id", std::string(id));
/// @endcode
inline std::string_view trace_id_of(const boost::asio::any_io_executor& ex) noexcept {
    return detail::trace_id_of(ex);
}

/// The executor `ex` runs on, without the scope it carries; `ex` itself
/// when it carries none.
///
/// For objects that outlive the task that creates them, such as a
/// connection pool made inside one invocation and kept warm for the next:
/// the work they start later on the result is not counted in that
/// invocation's `task_ledger`, is not dropped once the invocation has ended,
/// and inherits none of its deadline or trace id.
///
/// May be called on any thread.
///
/// @code
/// auto ex = co_await boost::asio::this_coro::executor;
/// pool_ = std::make_shared<pool>(muster::without_scope(ex));
/// @endcode
inline boost::asio::any_io_executor without_scope(const boost::asio::any_io_executor& ex) {
    if (auto* s = ex.target<detail::io_scope_executor>()) return s->get_inner_executor();
    if (auto* s = ex.target<detail::any_scope_executor>()) return s->get_inner_executor();
    return ex;
}

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
