/// @file
/// Helpers shared by the as_completed and group tests: a runner that fails on
/// hangs and on leftover work, timed tasks, and probes that count frames,
/// starts, concurrency and cancellations.
#pragma once

#include <algorithm>
#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include <gtest/gtest.h>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <muster/core/outcome.hpp>
#include <muster/core/sleep.hpp>
#include <muster/testing/manual_clock.hpp>

namespace muster_test_probe {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using muster::clock;
using muster::testing::manual_clock;

/// Longest any single test may keep its io_context busy. Far above what any
/// test needs; only a hang (a task that was not cancelled) reaches it.
inline constexpr auto run_limit = 20s;

/// A delay no test waits for: a task sleeping this long must be cancelled.
inline constexpr auto forever = 10s;

/// Runs the coroutine `make()` returns on a fresh io_context, inside a root
/// scope on `clock` (a manual clock: sleeps take no real time and every
/// timing is exact; see `muster::testing::manual_clock::run`), until the
/// context has no work left, and returns its result (rethrowing its
/// exception). `make` stays alive for the whole run, so a test lambda may
/// capture by reference. Fails the test when the coroutine does not finish,
/// or when a timer is still pending after it finished.
template <class F>
auto run(muster::testing::manual_clock& clock, F make) ->
    typename std::invoke_result_t<F&>::value_type {
    using T = typename std::invoke_result_t<F&>::value_type;
    asio::io_context io;
    std::exception_ptr error;
    bool done = false;
    std::size_t left_pending = 0;
    auto finish = [&] {
        clock.run(io);
        if (!done) throw std::runtime_error("the test coroutine did not finish");
        EXPECT_EQ(left_pending, 0u)
            << "a timer was still pending after the test coroutine finished";
        if (error) std::rethrow_exception(error);
    };
    if constexpr (std::is_void_v<T>) {
        asio::co_spawn(clock.executor(io), make(), [&](std::exception_ptr e) {
            error = e;
            done = true;
            left_pending = clock.pending();
        });
        finish();
    } else {
        std::optional<T> value;
        asio::co_spawn(clock.executor(io), make(), [&](std::exception_ptr e, T v) {
            error = e;
            if (!e) value.emplace(std::move(v));
            done = true;
            left_pending = clock.pending();
        });
        finish();
        return std::move(*value);
    }
}

/// `run` on a manual clock of its own.
template <class F>
auto run(F make) -> typename std::invoke_result_t<F&>::value_type {
    muster::testing::manual_clock clock;
    return run(clock, std::move(make));
}

/// Emits terminal cancellation on `signal` after `d` on the scope's clock
/// (on the io_context's thread, like every emit).
inline asio::awaitable<void> cancel_after(asio::cancellation_signal* signal, clock::duration d) {
    co_await muster::sleep_for(d);
    signal->emit(asio::cancellation_type::terminal);
}

/// Waits `d` on the scope's clock (the manual one under `run`).
inline asio::awaitable<void> sleep_for(clock::duration d) { return muster::sleep_for(d); }

struct test_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

inline asio::awaitable<int> value_after(int value, clock::duration d) {
    co_await sleep_for(d);
    co_return value;
}

inline asio::awaitable<int> fail_after(std::string message, clock::duration d) {
    co_await sleep_for(d);
    throw test_error(message);
}

/// What the probed tasks of one test did.
struct task_probe {
    int frames = 0;  ///< coroutine frames alive (created, not yet destroyed)
    int started = 0;
    int in_flight = 0;
    int max_in_flight = 0;
    int ran_to_end = 0;
    int saw_cancellation = 0;  ///< tasks whose wait ended with operation_aborted
};

/// Passed by value into a probed coroutine, so it lives exactly as long as
/// the coroutine's frame, whether or not the coroutine ever ran.
class frame_token {
  public:
    explicit frame_token(task_probe& p) : p_(&p) { ++p_->frames; }
    frame_token(const frame_token& o) : p_(o.p_) { ++p_->frames; }
    frame_token& operator=(const frame_token&) = delete;
    ~frame_token() { --p_->frames; }
    task_probe& probe() const { return *p_; }

  private:
    task_probe* p_;
};

/// Sleeps `d`, then returns `value`, recording everything in its probe.
inline asio::awaitable<int> probed(frame_token token, int value, clock::duration d) {
    task_probe& p = token.probe();
    ++p.started;
    p.max_in_flight = std::max(p.max_in_flight, ++p.in_flight);
    try {
        co_await sleep_for(d);
    } catch (const boost::system::system_error& e) {
        --p.in_flight;
        if (e.code() == asio::error::operation_aborted) ++p.saw_cancellation;
        throw;
    }
    --p.in_flight;
    ++p.ran_to_end;
    co_return value;
}

}  // namespace muster_test_probe
