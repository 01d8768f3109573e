/// @file
/// `gather`: run many tasks concurrently and collect every outcome.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <ranges>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <muster/core/detail/range_collector.hpp>
#include <muster/core/options.hpp>
#include <muster/core/results.hpp>

namespace muster {

/// Runs the tasks of `range` concurrently and returns every outcome, in input
/// order.
///
/// `range` is any input range whose elements are `awaitable<T>` or callables
/// returning `awaitable<T>`. A lazy view (`std::views::transform(urls,
/// fetch)`) is pulled only when a slot is free, so at most `o.limit` task
/// frames exist at once. A container is moved from.
///
/// Completion: when every admitted task has finished. One outcome per input:
/// `ok`/`failed` for tasks that ran, `timed_out` for those still running at
/// their `task_timeout` or the deadline, `cancelled` for those stopped by the
/// policy or by cancellation of the caller, `not_started` for those never
/// admitted. Empty input completes at once with empty results.
///
/// Errors: a task's failure is a value in its outcome, never an exception of
/// `gather`. `gather` throws only for invalid options
/// (`std::invalid_argument`) or when the caller is already cancelled before
/// anything started (`boost::system::system_error`, `operation_aborted`).
///
/// Cancellation: cancelling the awaiting coroutine (terminal) stops the
/// collection: nothing more is admitted, running tasks are cancelled, and
/// `gather` still waits for all of them before it completes with their
/// outcomes (`cancelled`, or `timed_out` if the deadline had passed).
///
/// As everywhere in Asio, a coroutine whose cancellation was requested stays
/// cancelled: its next `co_await` after `gather` returns throws
/// `operation_aborted` unless it resets its cancellation state.
///
/// A container of awaitables is consumed: gathering it again gives each task
/// a `failed` outcome with `std::invalid_argument`, never a crash.
///
/// Deadline: the earlier of `o.deadline` and the enclosing scope's. Tasks run
/// in a scope carrying it, so nested collections and `remaining()` see it.
///
/// Thread-safety: call from a coroutine on a single-threaded `io_context`
/// (or a strand); every task runs on the caller's executor.
///
/// @code
/// muster::options o;
/// o.limit = 50;
/// o.task_timeout = 2s;
/// auto r = co_await muster::gather(urls | std::views::transform(fetch), o);
/// for (std::size_t i = 0; i < r.size(); ++i)
///     if (!r[i].ok()) log(urls[i], r[i].status(), r[i].message());
/// @endcode
template <detail::task_range R>
boost::asio::awaitable<results<detail::range_task_value_t<R>>> gather(R&& range, options o = {});

namespace detail {

/// gather's coroutine. It takes the view by value: the awaitable starts suspended, so a
/// reference to the caller's range (a temporary view, when the awaitable is named before it
/// is awaited) would dangle by the time the body runs.
template <class T, class V>
boost::asio::awaitable<results<T>> gather_view(V view, options o) {
    co_await throw_if_already_cancelled();
    auto c = std::make_shared<range_collector<T, V>>(co_await boost::asio::this_coro::executor,
                                                     std::move(o), false, std::move(view));
    c->start(c);
    co_await c->async_wait_done(boost::asio::use_awaitable);
    co_return c->take_results();
}

}  // namespace detail

/// Not a coroutine itself: the range is taken at the call, an rvalue (a view, a container)
/// moved into the returned awaitable, an lvalue container referred to (it must outlive the
/// `co_await`; its tasks are moved out as they start).
template <detail::task_range R>
boost::asio::awaitable<results<detail::range_task_value_t<R>>> gather(R&& range, options o) {
    return detail::gather_view<detail::range_task_value_t<R>>(
        std::views::all(std::forward<R>(range)), std::move(o));
}

namespace detail {

template <class T>
task<void> store_into(task<T> t, std::optional<T>* out) {
    out->emplace(co_await std::move(t));
}
inline task<void> store_into(task<void> t, std::optional<std::monostate>*) {
    co_await std::move(t);
}

template <class T>
using stored_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class... Ts, std::size_t... I>
task<std::tuple<outcome<Ts>...>> gather_tuple(options o, std::index_sequence<I...>,
                                              task<Ts>... tasks) {
    std::tuple<std::optional<stored_t<Ts>>...> values;
    std::vector<task<void>> wrapped;
    wrapped.reserve(sizeof...(Ts));
    (wrapped.push_back(store_into(std::move(tasks), &std::get<I>(values))), ...);
    auto r = co_await gather(std::move(wrapped), std::move(o));
    std::tuple<outcome<Ts>...> out;
    auto fill = [&]<std::size_t J>(std::integral_constant<std::size_t, J>) {
        using U = std::tuple_element_t<J, std::tuple<Ts...>>;
        auto& dst = std::get<J>(out);
        if (r[J].ok()) {
            if constexpr (std::is_void_v<U>) {
                outcome_access::set_value(dst);
            } else {
                outcome_access::set_value(dst, std::move(*std::get<J>(values)));
            }
        }
        outcome_access::copy_header(dst, r[J]);
    };
    (fill(std::integral_constant<std::size_t, I>{}), ...);
    co_return out;
}

}  // namespace detail

/// Runs a fixed set of tasks of possibly different types concurrently and
/// returns a tuple of their outcomes, in argument order. Same completion,
/// error and cancellation rules as the range form; retries need factories, so
/// `o.retry.attempts` must be 1 here.
///
/// @code
/// auto [user, orders] = co_await muster::gather(load_user(id), load_orders(id));
/// if (user.ok() && orders.ok()) render(user.value(), orders.value());
/// @endcode
template <class... Ts>
boost::asio::awaitable<std::tuple<outcome<Ts>...>> gather(options o, detail::task<Ts>... tasks) {
    return detail::gather_tuple<Ts...>(std::move(o), std::index_sequence_for<Ts...>{},
                                       std::move(tasks)...);
}

/// The variadic form with default options.
template <class T0, class... Ts>
boost::asio::awaitable<std::tuple<outcome<T0>, outcome<Ts>...>> gather(detail::task<T0> t0,
                                                                       detail::task<Ts>... tasks) {
    return detail::gather_tuple<T0, Ts...>(options{}, std::index_sequence_for<T0, Ts...>{},
                                           std::move(t0), std::move(tasks)...);
}

}  // namespace muster
