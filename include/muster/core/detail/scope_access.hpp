/// @file
/// Finding the scope an executor carries, and deriving executors that carry
/// a nested one. Internal; the public scope queries are in `scope.hpp`.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>

#include <muster/core/detail/scope_state.hpp>
#include <muster/core/outcome.hpp>
#include <muster/core/scope_executor.hpp>
#include <muster/core/time_source.hpp>

namespace muster {

namespace detail {

using io_scope_executor = basic_scope_executor<boost::asio::io_context::executor_type>;
using any_scope_executor = basic_scope_executor<boost::asio::any_io_executor>;

/// The scope an executor carries, or null.
inline const scope_state* find_scope(const boost::asio::any_io_executor& ex) noexcept {
    if (auto* s = ex.target<io_scope_executor>()) return s->scope();
    if (auto* s = ex.target<any_scope_executor>()) return s->scope();
    return nullptr;
}

/// The trace id of the root of the scope `ex` carries, or empty.
inline std::string_view trace_id_of(const boost::asio::any_io_executor& ex) noexcept {
    const scope_state* s = find_scope(ex);
    return s ? s->trace_id() : std::string_view{};
}

/// The time source of the scope `ex` carries, or null (the steady clock).
inline time_source* time_source_of(const boost::asio::any_io_executor& ex) noexcept {
    const scope_state* s = find_scope(ex);
    return s ? s->time() : nullptr;
}

/// The time on `source`, or on the steady clock when it is null.
inline clock::time_point now(const time_source* source) noexcept {
    return source ? source->now() : clock::now();
}

/// The effective deadline of the scope `ex` carries, or `time_point::max()`.
inline clock::time_point deadline_of(const boost::asio::any_io_executor& ex) noexcept {
    const scope_state* s = find_scope(ex);
    return s ? s->deadline() : clock::time_point::max();
}

/// An executor for work that must finish by `deadline`: `ex` itself when its
/// scope's deadline is already as early, otherwise `ex`'s underlying executor
/// carrying a new child scope. Never nests adapters: the result is at most
/// one adapter deep, so it stays in `any_io_executor`'s small buffer.
inline boost::asio::any_io_executor with_deadline(const boost::asio::any_io_executor& ex,
                                                  clock::time_point deadline) {
    if (deadline >= deadline_of(ex)) return ex;
    if (auto* s = ex.target<io_scope_executor>()) {
        return io_scope_executor{s->get_inner_executor(), scope_ptr::adopt(new scope_state(
                                                              s->scope_handle().get(), deadline))};
    }
    if (auto* s = ex.target<any_scope_executor>()) {
        return any_scope_executor{s->get_inner_executor(), scope_ptr::adopt(new scope_state(
                                                               s->scope_handle().get(), deadline))};
    }
    if (auto* io = ex.target<boost::asio::io_context::executor_type>()) {
        return io_scope_executor{*io, scope_ptr::adopt(new scope_state(nullptr, deadline))};
    }
    return any_scope_executor{ex, scope_ptr::adopt(new scope_state(nullptr, deadline))};
}

/// An executor for the collected task whose trace span is `span`: `ex`'s
/// underlying executor carrying a new child scope with that span and the
/// earlier of `deadline` and `ex`'s deadline. Only used while a trace is
/// recorded, so `ex` carries a scope (a recorder hangs off a root scope).
inline boost::asio::any_io_executor with_span(const boost::asio::any_io_executor& ex,
                                              clock::time_point deadline, std::size_t span) {
    deadline = std::min(deadline, deadline_of(ex));
    if (auto* s = ex.target<io_scope_executor>()) {
        return io_scope_executor{
            s->get_inner_executor(),
            scope_ptr::adopt(new scope_state(s->scope_handle().get(), deadline, span))};
    }
    if (auto* s = ex.target<any_scope_executor>()) {
        return any_scope_executor{
            s->get_inner_executor(),
            scope_ptr::adopt(new scope_state(s->scope_handle().get(), deadline, span))};
    }
    return with_deadline(ex, deadline);
}

}  // namespace detail

}  // namespace muster
