/// @file
/// What muster accepts as a task: an `awaitable<T>`, or a callable that makes
/// one (a factory, which is what makes retries possible).
#pragma once

#include <concepts>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

namespace muster::detail {

template <class T>
using task = boost::asio::awaitable<T, boost::asio::any_io_executor>;

template <class X>
struct is_task : std::false_type {};
template <class T>
struct is_task<task<T>> : std::true_type {
    using value_type = T;
};

/// What one element of an input is: `Ref` is the range's reference type.
template <class Ref, class = void>
struct task_traits {
    static constexpr bool valid = false;
};

template <class Ref>
struct task_traits<Ref, std::enable_if_t<is_task<std::remove_cvref_t<Ref>>::value>> {
    static constexpr bool valid = true;
    static constexpr bool is_factory = false;
    using value_type = typename is_task<std::remove_cvref_t<Ref>>::value_type;
};

template <class Ref>
struct task_traits<Ref, std::enable_if_t<!is_task<std::remove_cvref_t<Ref>>::value &&
                                         std::is_invocable_v<std::remove_cvref_t<Ref>&>>> {
    using result = std::invoke_result_t<std::remove_cvref_t<Ref>&>;
    static constexpr bool valid = is_task<result>::value;
    static constexpr bool is_factory = true;
    using value_type = typename is_task<result>::value_type;
};

/// A restartable source of one task's attempts.
template <class T>
using task_factory = std::function<task<T>()>;

/// Wraps any callable returning `task<T>` into a copyable factory, sharing it
/// when it is move-only.
template <class T, class F>
task_factory<T> make_factory(F&& f) {
    using fn = std::remove_cvref_t<F>;
    if constexpr (std::is_copy_constructible_v<fn>) {
        return task_factory<T>(std::forward<F>(f));
    } else {
        auto shared = std::make_shared<fn>(std::forward<F>(f));
        return [shared] { return (*shared)(); };
    }
}

}  // namespace muster::detail
