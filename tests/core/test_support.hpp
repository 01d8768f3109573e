/// @file
/// Helpers shared by the core tests: run a coroutine to completion on its own
/// io_context (on the steady clock or on a manual one), sleep on the scope's
/// clock, measure how many tasks run at once, and
/// count the coroutine frames that exist.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <muster/core/outcome.hpp>
#include <muster/core/sleep.hpp>
#include <muster/testing/manual_clock.hpp>

namespace muster_test {

namespace asio = boost::asio;
using muster::clock;
using namespace std::chrono_literals;

/// How long `run` waits for a test's coroutine. A collection that never
/// completes makes the test fail here rather than hang until ctest's timeout.
inline constexpr clock::duration run_limit = std::chrono::seconds(20);

namespace detail {

template <class T>
asio::awaitable<void> store_result(asio::awaitable<T> task, std::optional<T>* out) {
    out->emplace(co_await std::move(task));
}

inline asio::awaitable<void> store_result(asio::awaitable<void> task,
                                          std::optional<std::monostate>* out) {
    co_await std::move(task);
    out->emplace();
}

}  // namespace detail

/// Runs `task` on a fresh single-threaded io_context and returns its value,
/// or rethrows what it threw. Works for any `T` (also move-only and
/// non-default-constructible ones).
///
/// Errors: `std::runtime_error` when the coroutine has not completed within
/// `run_limit`; `std::logic_error` when it completed but left work behind on
/// the io_context (a timer or operation that outlives the collection, which
/// muster promises never happens).
template <class T>
T run(asio::awaitable<T> task) {
    using stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;
    asio::io_context io;
    std::optional<stored> value;
    std::exception_ptr error;
    bool done = false;
    asio::co_spawn(io, detail::store_result(std::move(task), &value),
                   [&error, &done](std::exception_ptr e) {
                       error = std::move(e);
                       done = true;
                   });
    const auto give_up = clock::now() + run_limit;
    while (!done && !io.stopped() && clock::now() < give_up) io.run_one_until(give_up);
    if (!done) throw std::runtime_error("muster_test::run: the coroutine did not complete");
    io.poll();
    if (!io.stopped()) {
        throw std::logic_error(
            "muster_test::run: work was left on the io_context after the "
            "coroutine completed");
    }
    if (error) std::rethrow_exception(error);
    if constexpr (!std::is_void_v<T>) return std::move(*value);
}

/// Runs `task` like `run`, inside a root scope on `clock` (a
/// `muster::testing::manual_clock`), which `clock.run` moves to the next
/// timer whenever nothing is ready: time-bound behaviour runs instantly and
/// its durations are exact.
///
/// Errors: as `run`'s; "did not complete" means the coroutine waits for
/// something no timer brings.
template <class T>
T run_manual(muster::testing::manual_clock& clock, asio::awaitable<T> task) {
    using stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;
    asio::io_context io;
    std::optional<stored> value;
    std::exception_ptr error;
    bool done = false;
    std::size_t left_pending = 0;
    asio::co_spawn(clock.executor(io), detail::store_result(std::move(task), &value),
                   [&](std::exception_ptr e) {
                       error = std::move(e);
                       done = true;
                       left_pending = clock.pending();
                   });
    clock.run(io);
    if (!done) throw std::runtime_error("muster_test::run_manual: the coroutine did not complete");
    if (left_pending > 0) {
        throw std::logic_error(
            "muster_test::run_manual: a timer was left pending after the coroutine completed");
    }
    if (error) std::rethrow_exception(error);
    if constexpr (!std::is_void_v<T>) return std::move(*value);
}

/// `run_manual` on a manual clock of its own.
template <class T>
T run_manual(asio::awaitable<T> task) {
    muster::testing::manual_clock clock;
    return run_manual(clock, std::move(task));
}

/// Waits `d` on the clock of the calling coroutine's scope (a steady_timer,
/// or the manual clock under `run_manual`). Throws
/// `system_error(operation_aborted)` when the caller is cancelled meanwhile.
inline asio::awaitable<void> sleep(clock::duration d) { return muster::sleep_for(d); }

/// Counts the tasks running at once and remembers the most ever seen.
/// Single-threaded, like the io_context the tasks run on.
class in_flight_probe {
  public:
    /// Held by a task while it runs; leaving the task (by any path) ends it.
    class ticket {
      public:
        explicit ticket(in_flight_probe* p) noexcept : probe_(p) {
            ++probe_->current_;
            probe_->peak_ = std::max(probe_->peak_, probe_->current_);
        }
        ticket(const ticket&) = delete;
        ticket& operator=(const ticket&) = delete;
        ~ticket() { --probe_->current_; }

      private:
        in_flight_probe* probe_;
    };

    [[nodiscard]] ticket enter() noexcept { return ticket(this); }
    std::size_t current() const noexcept { return current_; }
    std::size_t peak() const noexcept { return peak_; }

  private:
    std::size_t current_ = 0;
    std::size_t peak_ = 0;
};

/// A task that holds a probe ticket for `d`, then returns `value`.
inline asio::awaitable<int> probed_task(in_flight_probe* probe, int value, clock::duration d) {
    auto t = probe->enter();
    co_await sleep(d);
    co_return value;
}

/// Counts coroutine frames: a frame exists from the call of the coroutine
/// function (when its parameters are copied into it) until it is destroyed,
/// whether or not it ever ran.
class frame_counter {
  public:
    /// Pass one by value as a coroutine parameter. The caller's argument is
    /// inert; the copy the compiler moves into the frame is what counts.
    class guard {
      public:
        explicit guard(frame_counter* c) noexcept : counter_(c) {}
        guard(guard&& o) noexcept : counter_(o.counter_), counts_(true) {
            ++counter_->live_;
            ++counter_->created_;
            counter_->peak_ = std::max(counter_->peak_, counter_->live_);
        }
        guard(const guard&) = delete;
        guard& operator=(const guard&) = delete;
        guard& operator=(guard&&) = delete;
        ~guard() {
            if (counts_) --counter_->live_;
        }

        /// Call from the coroutine's body: records that the task ran at all.
        void ran() const noexcept { ++counter_->ran_; }

      private:
        frame_counter* counter_;
        bool counts_ = false;
    };

    guard token() noexcept { return guard(this); }

    /// A counted task that sleeps `d` (if positive) and returns `value`.
    asio::awaitable<int> task(int value, clock::duration d = clock::duration::zero());

    /// `inner` inside a counted frame, so its lifetime is counted as well.
    template <class T>
    asio::awaitable<T> wrap(asio::awaitable<T> inner);

    std::size_t live() const noexcept { return live_; }
    std::size_t peak() const noexcept { return peak_; }
    std::size_t created() const noexcept { return created_; }
    std::size_t ran() const noexcept { return ran_; }

  private:
    std::size_t live_ = 0;
    std::size_t peak_ = 0;
    std::size_t created_ = 0;
    std::size_t ran_ = 0;
};

namespace detail {

inline asio::awaitable<int> counted_task(frame_counter::guard g, int value, clock::duration d) {
    g.ran();
    if (d > clock::duration::zero()) co_await sleep(d);
    co_return value;
}

template <class T>
asio::awaitable<T> counted_wrap(frame_counter::guard g, asio::awaitable<T> inner) {
    g.ran();
    co_return co_await std::move(inner);
}

}  // namespace detail

inline asio::awaitable<int> frame_counter::task(int value, clock::duration d) {
    return detail::counted_task(token(), value, d);
}

template <class T>
asio::awaitable<T> frame_counter::wrap(asio::awaitable<T> inner) {
    return detail::counted_wrap<T>(token(), std::move(inner));
}

/// How long has passed since `start`, in milliseconds (for messages).
inline long long ms_since(clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start).count();
}

}  // namespace muster_test
