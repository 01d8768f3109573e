#include <muster/core/offload.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio.hpp>

#include "handoff_probe.hpp"
#include "run_returns.hpp"

namespace offload_test {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

/// Runs `a` on `io` until everything on `io` is done, then returns its result
/// or rethrows its exception.
template <class T>
T run(asio::io_context& io, asio::awaitable<T> a) {
    auto f = asio::co_spawn(io, std::move(a), asio::use_future);
    io.restart();
    io.run();
    return f.get();
}

/// Spins until `flag` is set, or gives up after a generous safety limit so a
/// broken implementation fails the test instead of hanging it.
bool wait_for(const std::atomic<bool>& flag) {
    const auto give_up = std::chrono::steady_clock::now() + 5s;
    while (!flag.load()) {
        if (std::chrono::steady_clock::now() > give_up) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

struct custom_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// ---- offload: results ---------------------------------------------------------

TEST(OffloadTest, ReturnsTheFunctionsValue) {
    asio::io_context io;
    EXPECT_EQ(run(io, muster::offload([] { return 6 * 7; })), 42);
}

/// The CPU pool lives for the whole process and its threads stay warm, but
/// it holds no work on the io_context between calls: `io.run()` returns
/// once the last offloaded call is done, without closing anything.
TEST(OffloadTest, IoRunReturnsOnceTheLastCallIsDoneThoughThePoolStaysWarm) {
    asio::io_context io;
    int sum = 0;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            for (int i = 1; i <= 3; ++i) sum += co_await muster::offload([i] { return i * 10; });
        },
        asio::detached);
    ASSERT_TRUE(muster_test::run_returns(io)) << "the CPU pool kept io.run() from returning";
    EXPECT_EQ(sum, 60);
}

TEST(OffloadTest, VoidFunctionCompletesAfterItRan) {
    asio::io_context io;
    std::atomic<bool> ran{false};
    run(io, muster::offload([&ran] { ran = true; }));
    EXPECT_TRUE(ran);
}

TEST(OffloadTest, MoveOnlyResultsAreMovedBack) {
    asio::io_context io;
    auto p = run(io, muster::offload([] { return std::make_unique<int>(5); }));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(*p, 5);

    struct no_default {
        explicit no_default(std::unique_ptr<std::string> s) : text(std::move(s)) {}
        std::unique_ptr<std::string> text;
    };
    auto text = run(io, [&]() -> asio::awaitable<std::string> {
        no_default r = co_await muster::offload(
            [] { return no_default(std::make_unique<std::string>("moved")); });
        co_return *r.text;
    }());
    EXPECT_EQ(text, "moved");
}

TEST(OffloadTest, MoveOnlyFunctionIsAccepted) {
    asio::io_context io;
    auto owned = std::make_unique<int>(9);
    EXPECT_EQ(run(io, muster::offload([p = std::move(owned)] { return *p + 1; })), 10);
}

TEST(OffloadTest, ExceptionsCrossBackWithTheirType) {
    asio::io_context io;
    auto what = run(io, []() -> asio::awaitable<std::string> {
        try {
            co_await muster::offload([]() -> int { throw custom_error("from the pool"); });
        } catch (const custom_error& e) {
            co_return e.what();
        }
        co_return "nothing thrown";
    }());
    EXPECT_EQ(what, "from the pool");

    EXPECT_THROW(run(io, muster::offload([] { throw 7; })), int);
}

TEST(OffloadTest, RunsOnAPoolThreadAndResumesOnTheIoThread) {
    asio::io_context io;
    const auto io_thread = std::this_thread::get_id();
    auto [fn_thread, resumed_on] =
        run(io, []() -> asio::awaitable<std::pair<std::thread::id, std::thread::id>> {
            auto id = co_await muster::offload([] { return std::this_thread::get_id(); });
            co_return std::pair{id, std::this_thread::get_id()};
        }());
    EXPECT_NE(fn_thread, io_thread);
    EXPECT_EQ(resumed_on, io_thread);
}

TEST(OffloadTest, RunsOnTheGivenPool) {
    asio::io_context io;
    asio::thread_pool pool(1);
    auto pool_thread = std::make_shared<std::thread::id>();
    asio::post(pool, [pool_thread] { *pool_thread = std::this_thread::get_id(); });
    auto by_ref = run(io, muster::offload(pool, [] { return std::this_thread::get_id(); }));
    auto by_ex =
        run(io, muster::offload(pool.get_executor(), [] { return std::this_thread::get_id(); }));
    pool.join();
    EXPECT_EQ(by_ref, *pool_thread);
    EXPECT_EQ(by_ex, *pool_thread);
}

TEST(OffloadTest, FanOutOf64AllCompleteWithCorrectResults) {
    asio::io_context io;
    constexpr int n = 64;
    std::vector<std::uint64_t> got(n, 0);
    int completed = 0;
    auto work = [](int i) {
        std::uint64_t sum = 0;
        for (std::uint64_t k = 0; k < 20'000 + static_cast<std::uint64_t>(i); ++k) sum += k * k;
        return sum;
    };
    for (int i = 0; i < n; ++i) {
        asio::co_spawn(io, muster::offload([i, work] { return work(i); }),
                       [&, i](std::exception_ptr e, std::uint64_t v) {
                           ASSERT_FALSE(e);
                           got[static_cast<std::size_t>(i)] = v;
                           ++completed;
                       });
    }
    io.run();
    EXPECT_EQ(completed, n);
    for (int i = 0; i < n; ++i)
        EXPECT_EQ(got[static_cast<std::size_t>(i)], work(i)) << "task " << i;
}

// ---- offload: hand-off to the awaiting side ----------------------------------

// Once the await resumes, the io_context may be destroyed (the caller's
// coroutine finishes and its owner goes on). The pool thread that posted
// the completion must already be done with it: a work-tracking copy of the
// executor destroyed there later reads the dead io_context and decrements
// whatever memory took its place.
TEST(OffloadTest, ThePoolThreadIsDoneWithTheIoContextWhenTheAwaitResumes) {
    asio::io_context io;
    auto probe = std::make_shared<muster_test::handoff_probe>();
    muster_test::handoff_executor<asio::io_context::executor_type> ex(io.get_executor(), probe);
    int value = 0;
    asio::co_spawn(
        ex,
        [](std::shared_ptr<muster_test::handoff_probe> p) -> asio::awaitable<int> {
            auto job = [] { return 7; };
            const int v = co_await muster::offload(std::move(job));
            p->resumed();
            co_return v;
        }(probe),
        [&](std::exception_ptr e, int v) {
            EXPECT_FALSE(e);
            value = v;
        });
    io.run();
    EXPECT_EQ(value, 7);
    EXPECT_FALSE(probe->resumed_inside_execute())
        << "the await resumed while the pool thread was still queueing its completion";
    EXPECT_EQ(probe->late_tracked_copies(), 0)
        << "the pool thread touched the io_context's work count after the await resumed";
}

// ---- offload: cancellation ----------------------------------------------------

TEST(OffloadTest, CancelledAwaitStillWaitsForTheRunningFunction) {
    asio::io_context io;
    asio::cancellation_signal signal;
    std::atomic<bool> release{false};
    std::atomic<bool> fn_returned{false};
    std::optional<bool> fn_had_returned_at_completion;
    int value = 0;

    auto fn = [&] {
        // Started: cancel from the io thread, then let the function finish
        // only in a later turn. A completion posted by the cancellation
        // itself would run before that turn.
        asio::post(io, [&] {
            signal.emit(asio::cancellation_type::terminal);
            asio::post(io, [&] { release = true; });
        });
        wait_for(release);
        fn_returned = true;
        return 7;
    };
    asio::co_spawn(io, muster::offload(fn),
                   asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e, int v) {
                       fn_had_returned_at_completion = fn_returned.load();
                       EXPECT_FALSE(e);
                       value = v;
                   }));
    io.run();
    ASSERT_TRUE(fn_had_returned_at_completion.has_value());
    EXPECT_TRUE(*fn_had_returned_at_completion);
    EXPECT_EQ(value, 7);  // finished despite the request: its value is delivered
}

TEST(OffloadTest, CancellationReachesFunctionAsStopRequest) {
    asio::io_context io;
    asio::cancellation_signal signal;
    bool saw_stop = false;
    auto fn = [&](std::stop_token st) {
        asio::post(io, [&] { signal.emit(asio::cancellation_type::terminal); });
        const auto give_up = std::chrono::steady_clock::now() + 5s;
        while (!st.stop_requested() && std::chrono::steady_clock::now() < give_up) {
            std::this_thread::sleep_for(1ms);
        }
        return st.stop_requested();
    };
    asio::co_spawn(io, muster::offload(fn),
                   asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e, bool v) {
                       EXPECT_FALSE(e);
                       saw_stop = v;
                   }));
    io.run();
    EXPECT_TRUE(saw_stop);
}

TEST(OffloadTest, PartialAndTotalCancellationAlsoRequestStop) {
    for (auto type : {asio::cancellation_type::partial, asio::cancellation_type::total}) {
        asio::io_context io;
        asio::cancellation_signal signal;
        bool saw_stop = false;
        auto fn = [&, type](std::stop_token st) {
            asio::post(io, [&, type] { signal.emit(type); });
            const auto give_up = std::chrono::steady_clock::now() + 5s;
            while (!st.stop_requested() && std::chrono::steady_clock::now() < give_up) {
                std::this_thread::sleep_for(1ms);
            }
            return st.stop_requested();
        };
        auto task = [fn]() -> asio::awaitable<bool> {
            co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
            co_return co_await muster::offload(fn);
        };
        asio::co_spawn(
            io, task(),
            asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e, bool v) {
                EXPECT_FALSE(e);
                saw_stop = v;
            }));
        io.run();
        EXPECT_TRUE(saw_stop) << "cancellation type " << static_cast<int>(type);
    }
}

TEST(OffloadTest, FunctionNotYetStartedIsSkippedWhenCancelledFirst) {
    asio::io_context io;
    asio::thread_pool pool(1);
    asio::cancellation_signal signal;
    std::atomic<bool> blocker_started{false};
    std::atomic<bool> release_blocker{false};
    std::atomic<bool> fn_ran{false};
    std::optional<boost::system::error_code> error;

    // Fill the pool, so the offloaded function waits in its queue.
    asio::post(pool, [&] {
        blocker_started = true;
        wait_for(release_blocker);
    });
    ASSERT_TRUE(wait_for(blocker_started));

    auto task = [&]() -> asio::awaitable<void> {
        asio::post(io, [&] { signal.emit(asio::cancellation_type::terminal); });
        co_await muster::offload(pool, [&] { fn_ran = true; });
    };
    asio::co_spawn(io, task(),
                   asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e) {
                       release_blocker = true;
                       try {
                           if (e) std::rethrow_exception(e);
                       } catch (const boost::system::system_error& se) {
                           error = se.code();
                       }
                   }));
    io.run();
    pool.join();  // the queued job has run by now, and must have skipped fn
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(*error, asio::error::operation_aborted);
    EXPECT_FALSE(fn_ran);
}

TEST(OffloadTest, FunctionStoppedByATimeoutDeliversWhatItThrew) {
    // The way muster's collections time a task out: a timer emits terminal
    // cancellation on the task's signal. Armed once the function runs, so a
    // busy machine cannot turn this into a cancellation before the start.
    asio::io_context io;
    asio::cancellation_signal signal;
    asio::steady_timer timeout(io);
    auto arm_timeout = [&] {
        timeout.expires_after(20ms);
        timeout.async_wait(
            [&](boost::system::error_code) { signal.emit(asio::cancellation_type::terminal); });
    };
    std::string what;
    auto fn = [&](std::stop_token st) -> int {
        asio::post(io, arm_timeout);
        const auto give_up = std::chrono::steady_clock::now() + 5s;
        while (!st.stop_requested() && std::chrono::steady_clock::now() < give_up) {
            std::this_thread::sleep_for(1ms);
        }
        if (st.stop_requested()) throw custom_error("stopped at the timeout");
        return 1;
    };
    asio::co_spawn(io, muster::offload(fn),
                   asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e, int) {
                       try {
                           if (e) std::rethrow_exception(e);
                           what = "no exception";
                       } catch (const custom_error& err) {
                           what = err.what();
                       } catch (...) {
                           what = "another exception";
                       }
                   }));
    io.run();
    EXPECT_EQ(what, "stopped at the timeout");
}

}  // namespace

}  // namespace offload_test
