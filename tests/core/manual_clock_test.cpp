// The time seam: a manual clock drives collections, timeouts, retries,
// sleeps and remaining() exactly, and takes no real time.
#include <muster/testing/manual_clock.hpp>

#include <chrono>
#include <functional>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <muster/core/gather.hpp>
#include <muster/core/scope.hpp>
#include <muster/core/sleep.hpp>

#include "test_support.hpp"

namespace manual_clock_test {

namespace {

using namespace muster_test;
using muster::testing::manual_clock;

TEST(ManualClockTest, SleepTakesExactlyItsDurationAndNoRealTime) {
    manual_clock clock;
    const auto start = clock.now();
    const auto real_start = clock::now();
    const auto slept = run_manual(clock, []() -> asio::awaitable<clock::duration> {
        const auto before = co_await muster::now();
        co_await muster::sleep_for(std::chrono::hours(1));
        co_return co_await muster::now() - before;
    }());
    EXPECT_EQ(slept, std::chrono::hours(1));
    EXPECT_EQ(clock.now() - start, std::chrono::hours(1));
    // An hour of manual time is not an hour of real time.
    EXPECT_LT(clock::now() - real_start, std::chrono::minutes(10));
}

TEST(ManualClockTest, AdvanceCompletesDueWaitsInExpiryOrderAndNoOthers) {
    asio::io_context io;
    manual_clock clock;
    const auto start = clock.now();
    std::vector<int> woke;
    std::vector<clock::duration> at;
    for (int ms : {30, 10, 20}) {
        asio::co_spawn(
            clock.executor(io),
            [&, ms]() -> asio::awaitable<void> {
                co_await muster::sleep_for(std::chrono::milliseconds(ms));
                woke.push_back(ms);
                at.push_back(clock.now() - start);
            },
            asio::detached);
    }
    clock.advance(io, 15ms);
    EXPECT_EQ(woke, (std::vector<int>{10}));
    EXPECT_EQ(clock.pending(), 2u);
    EXPECT_EQ(clock.next_expiry(), start + 20ms);
    clock.advance(io, 15ms);
    EXPECT_EQ(woke, (std::vector<int>{10, 20, 30}));
    EXPECT_EQ(at, (std::vector<clock::duration>{10ms, 20ms, 30ms}));
    EXPECT_EQ(clock.now() - start, 30ms);
    EXPECT_EQ(clock.pending(), 0u);
}

TEST(ManualClockTest, TaskTimeoutEndsATaskAfterExactlyItsDuration) {
    auto r = run_manual([]() -> asio::awaitable<muster::results<int>> {
        std::vector<asio::awaitable<int>> tasks;
        tasks.push_back([]() -> asio::awaitable<int> {
            co_await sleep(std::chrono::hours(1));
            co_return 1;
        }());
        tasks.push_back([]() -> asio::awaitable<int> {
            co_await sleep(10ms);
            co_return 2;
        }());
        muster::options o;
        o.task_timeout = 30ms;
        co_return co_await muster::gather(std::move(tasks), o);
    }());
    EXPECT_EQ(r[0].status(), muster::status::timed_out);
    EXPECT_EQ(r[0].timings().run_time(), 30ms);
    ASSERT_TRUE(r[1].ok());
    EXPECT_EQ(r[1].timings().run_time(), 10ms);
}

asio::awaitable<int> fails_three_times(int* calls) {
    co_await sleep(5ms);
    if (++*calls < 4) throw std::runtime_error("flaky");
    co_return 7;
}

TEST(ManualClockTest, RetriesWithoutJitterFollowTheExactBackoffSchedule) {
    int calls = 0;
    auto r = run_manual([&calls]() -> asio::awaitable<muster::results<int>> {
        std::vector<std::function<asio::awaitable<int>()>> tasks;
        tasks.push_back([&calls] { return fails_three_times(&calls); });
        muster::options o;
        o.retry.attempts = 4;
        o.retry.initial_backoff = 100ms;
        o.retry.multiplier = 3.0;
        o.retry.jitter = false;
        co_return co_await muster::gather(std::move(tasks), o);
    }());
    ASSERT_TRUE(r[0].ok()) << r[0].message();
    EXPECT_EQ(r[0].attempts(), 4u);
    // Four attempts of 5 ms, backoffs of 100, 300 and 900 ms between them.
    EXPECT_EQ(r[0].timings().run_time(), 4 * 5ms + 100ms + 300ms + 900ms);
}

TEST(ManualClockTest, RemainingAndTheDeadlineAreOnTheScopesClock) {
    manual_clock clock;
    const auto left = run_manual(clock, [&clock]() -> asio::awaitable<clock::duration> {
        muster::root_scope scope(clock.now() + 100ms, {}, nullptr, &clock);
        co_return co_await asio::co_spawn(
            scope.executor(co_await asio::this_coro::executor),
            []() -> asio::awaitable<clock::duration> {
                co_await sleep(40ms);
                co_return co_await muster::remaining();
            },
            asio::use_awaitable);
    }());
    EXPECT_EQ(left, 60ms);
}

TEST(ManualClockTest, TheDeadlineStopsACollectionAtExactlyItsTime) {
    manual_clock clock;
    const auto start = clock.now();
    auto r = run_manual(clock, [start]() -> asio::awaitable<muster::results<int>> {
        std::vector<asio::awaitable<int>> tasks;
        for (int i = 0; i < 4; ++i) {
            tasks.push_back([](int i) -> asio::awaitable<int> {
                co_await sleep(std::chrono::milliseconds(20 * (i + 1)));
                co_return i;
            }(i));
        }
        muster::options o;
        o.limit = 2;
        o.deadline = start + 50ms;
        co_return co_await muster::gather(std::move(tasks), o);
    }());
    // 20 and 40 ms finish; the third (60 ms, admitted at 20) and the fourth
    // (80 ms, admitted at 40) are cut at 50 ms.
    EXPECT_TRUE(r[0].ok());
    EXPECT_TRUE(r[1].ok());
    EXPECT_EQ(r[2].status(), muster::status::timed_out);
    EXPECT_EQ(r[3].status(), muster::status::timed_out);
    EXPECT_EQ(r[2].timings().finished - start, 50ms);
    EXPECT_EQ(r[3].timings().started - start, 40ms);
    EXPECT_EQ(clock.now() - start, 50ms);
}

}  // namespace

}  // namespace manual_clock_test
