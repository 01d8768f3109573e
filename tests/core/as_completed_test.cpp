#include <muster/core/as_completed.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <exception>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <muster/core/errors.hpp>
#include <muster/core/options.hpp>
#include <muster/core/status.hpp>

#include "task_probe.hpp"

namespace as_completed_test {

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using muster::clock;
using muster::status;
using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

// ---- local helpers (shared ones are in task_probe.hpp) -------------------

using namespace muster_test_probe;

/// Runs `io` on `clock` until it has no work left; true when it has none.
bool run_until_idle(manual_clock& clock, asio::io_context& io) {
    clock.run(io);
    return io.stopped();
}

// ---- order, indices, failures, end of stream -------------------------------

TEST(AsCompletedTest, YieldsEveryTaskOnceWithItsIndexInCompletionOrder) {
    std::vector<std::size_t> indices;
    std::vector<int> values;
    run([&]() -> asio::awaitable<void> {
        std::vector<asio::awaitable<int>> tasks;
        for (int i = 0; i < 5; ++i) tasks.push_back(value_after(100 + i, (5 - i) * 20ms));
        auto s = muster::as_completed(std::move(tasks));
        while (auto d = co_await s.next()) {
            indices.push_back(d->index);
            values.push_back(d->result.value());
        }
    });
    EXPECT_THAT(indices, ElementsAre(4, 3, 2, 1, 0));
    EXPECT_THAT(values, ElementsAre(104, 103, 102, 101, 100));
}

TEST(AsCompletedTest, FailuresAreYieldedAsOutcomesNotThrown) {
    std::map<std::size_t, muster::outcome<int>> seen;
    run([&]() -> asio::awaitable<void> {
        std::vector<asio::awaitable<int>> tasks;
        tasks.push_back(value_after(1, 10ms));
        tasks.push_back(fail_after("image 1 is corrupt", 0ms));
        tasks.push_back(value_after(3, 20ms));
        auto s = muster::as_completed(std::move(tasks));
        while (auto d = co_await s.next()) seen.emplace(d->index, std::move(d->result));
    });
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[0].value(), 1);
    EXPECT_EQ(seen[2].value(), 3);
    EXPECT_EQ(seen[1].status(), status::failed);
    EXPECT_EQ(seen[1].message(), "image 1 is corrupt");
    EXPECT_THROW(seen[1].value(), test_error);
}

TEST(AsCompletedTest, EndsWithNulloptAndStaysEnded) {
    int yielded = 0;
    int ends = 0;
    run([&]() -> asio::awaitable<void> {
        std::vector<asio::awaitable<int>> tasks;
        tasks.push_back(value_after(1, 0ms));
        tasks.push_back(value_after(2, 5ms));
        auto s = muster::as_completed(std::move(tasks));
        while (co_await s.next()) ++yielded;
        ++ends;
        if (!(co_await s.next())) ++ends;
    });
    EXPECT_EQ(yielded, 2);
    EXPECT_EQ(ends, 2);
}

TEST(AsCompletedTest, TryNextTakesOnlyWhatHasFinishedWithoutWaiting) {
    std::vector<int> burst;
    bool nothing_before_start = false;
    bool nothing_while_running = false;
    bool nothing_after_end = false;
    run([&]() -> asio::awaitable<void> {
        std::vector<asio::awaitable<int>> tasks;
        tasks.push_back(value_after(1, 0ms));
        tasks.push_back(value_after(2, 0ms));
        tasks.push_back(value_after(3, 0ms));
        tasks.push_back(value_after(4, 50ms));
        auto s = muster::as_completed(std::move(tasks));
        nothing_before_start = !s.try_next();
        auto first = co_await s.next();
        burst.push_back(first->result.value());
        co_await sleep_for(10ms);  // the three quick ones are done by now
        while (auto more = s.try_next()) burst.push_back(more->result.value());
        nothing_while_running = !s.try_next();
        auto last = co_await s.next();
        burst.push_back(last->result.value());
        EXPECT_FALSE(co_await s.next());
        nothing_after_end = !s.try_next();
    });
    EXPECT_TRUE(nothing_before_start);
    EXPECT_TRUE(nothing_while_running) << "the 50 ms task is not taken before it finished";
    EXPECT_TRUE(nothing_after_end);
    EXPECT_THAT(burst, UnorderedElementsAre(1, 2, 3, 4));
    EXPECT_EQ(burst.back(), 4);
}

TEST(AsCompletedTest, EmptyInputEndsAtOnce) {
    bool ended = false;
    manual_clock manual;
    const auto start = manual.now();
    run(manual, [&]() -> asio::awaitable<void> {
        auto s = muster::as_completed(std::vector<asio::awaitable<int>>{});
        ended = !(co_await s.next());
    });
    EXPECT_TRUE(ended);
    EXPECT_EQ(manual.now() - start, 0ms);
}

// ---- progress while the consumer is busy; limit; max_unread ---------------

TEST(AsCompletedTest, InFlightTasksProgressWhileTheConsumerIsBusy) {
    std::vector<clock::time_point> finished;
    clock::time_point resumed;
    run([&]() -> asio::awaitable<void> {
        std::vector<asio::awaitable<int>> tasks;
        tasks.push_back(value_after(0, 0ms));
        for (int i = 1; i <= 4; ++i) tasks.push_back(value_after(i, 20ms));
        auto s = muster::as_completed(std::move(tasks));
        auto first = co_await s.next();
        EXPECT_TRUE(first);
        co_await sleep_for(100ms);  // the consumer is busy with the first result
        resumed = co_await muster::now();
        while (auto d = co_await s.next()) finished.push_back(d->result.timings().finished);
    });
    ASSERT_EQ(finished.size(), 4u);
    for (auto t : finished) EXPECT_LT(t, resumed);
}

TEST(AsCompletedTest, AdmissionContinuesWhileTheConsumerIsBusy) {
    // With limit 1 the four later tasks run one after the other; all of them
    // must still be admitted and finish while nobody calls next().
    std::vector<clock::time_point> finished;
    clock::time_point resumed;
    run([&]() -> asio::awaitable<void> {
        std::vector<asio::awaitable<int>> tasks;
        tasks.push_back(value_after(0, 0ms));
        for (int i = 1; i <= 4; ++i) tasks.push_back(value_after(i, 10ms));
        muster::options o;
        o.limit = 1;
        auto s = muster::as_completed(std::move(tasks), o);
        co_await s.next();
        co_await sleep_for(200ms);
        resumed = co_await muster::now();
        while (auto d = co_await s.next()) finished.push_back(d->result.timings().finished);
    });
    ASSERT_EQ(finished.size(), 4u);
    for (auto t : finished) EXPECT_LT(t, resumed);
}

TEST(AsCompletedTest, LimitBoundsTheTasksInFlight) {
    task_probe p;
    int yielded = 0;
    run([&]() -> asio::awaitable<void> {
        std::vector<asio::awaitable<int>> tasks;
        for (int i = 0; i < 12; ++i) tasks.push_back(probed(frame_token(p), i, 5ms));
        muster::options o;
        o.limit = 3;
        auto s = muster::as_completed(std::move(tasks), o);
        while (co_await s.next()) ++yielded;
    });
    EXPECT_EQ(yielded, 12);
    EXPECT_EQ(p.max_in_flight, 3);
    EXPECT_EQ(p.ran_to_end, 12);
}

TEST(AsCompletedTest, MaxUnreadPausesAdmissionWhileResultsAreUnread) {
    // Every task finishes at once, so without max_unread all of them would
    // run while the consumer sleeps. With it, admission stops once
    // `max_unread` results wait: at most read + max_unread + limit started.
    constexpr int n = 12;
    constexpr std::size_t limit = 2;
    constexpr std::size_t max_unread = 2;
    task_probe p;
    int started_while_busy = -1;
    std::vector<std::size_t> indices;
    run([&]() -> asio::awaitable<void> {
        std::vector<asio::awaitable<int>> tasks;
        for (int i = 0; i < n; ++i) tasks.push_back(probed(frame_token(p), i, 0ms));
        muster::options o;
        o.limit = limit;
        o.max_unread = max_unread;
        auto s = muster::as_completed(std::move(tasks), o);
        auto first = co_await s.next();
        if (!first) {
            ADD_FAILURE() << "no first result";
            co_return;
        }
        indices.push_back(first->index);
        co_await sleep_for(100ms);
        started_while_busy = p.started;
        while (auto d = co_await s.next()) indices.push_back(d->index);
    });
    EXPECT_GE(started_while_busy, 1);
    EXPECT_LE(started_while_busy, static_cast<int>(1 + max_unread + limit));
    // Reading resumed admission: every task ran and was yielded once.
    EXPECT_EQ(p.ran_to_end, n);
    std::sort(indices.begin(), indices.end());
    std::vector<std::size_t> all(n);
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    EXPECT_EQ(indices, all);
}

// ---- deadline, task_timeout, policies (as in gather) -----------------------

TEST(AsCompletedTest, DeadlineYieldsRunningTasksAsTimedOut) {
    std::map<std::size_t, status> seen;
    bool timeout_error_kept = false;
    manual_clock manual;
    const auto start = manual.now();
    run(manual, [&]() -> asio::awaitable<void> {
        std::vector<asio::awaitable<int>> tasks;
        tasks.push_back(value_after(0, 0ms));
        tasks.push_back(value_after(1, forever));
        tasks.push_back(value_after(2, 10ms));
        tasks.push_back(value_after(3, forever));
        muster::options o;
        o.deadline = co_await muster::now() + 100ms;
        auto s = muster::as_completed(std::move(tasks), o);
        while (auto d = co_await s.next()) {
            seen[d->index] = d->result.status();
            if (d->index == 1) {
                try {
                    d->result.value();
                } catch (const muster::timeout_error&) {
                    timeout_error_kept = true;
                }
            }
        }
    });
    EXPECT_EQ(manual.now() - start, 100ms);
    EXPECT_THAT(seen, ElementsAre(Pair(0u, status::ok), Pair(1u, status::timed_out),
                                  Pair(2u, status::ok), Pair(3u, status::timed_out)));
    EXPECT_TRUE(timeout_error_kept);
}

TEST(AsCompletedTest, StreamWithADeadlineEndsWhenItsTasksFinish) {
    int yielded = 0;
    manual_clock manual;
    const auto start = manual.now();
    run(manual, [&]() -> asio::awaitable<void> {
        std::vector<asio::awaitable<int>> tasks;
        tasks.push_back(value_after(1, 0ms));
        muster::options o;
        o.deadline = co_await muster::now() + 3s;
        auto s = muster::as_completed(std::move(tasks), o);
        while (co_await s.next()) ++yielded;
    });
    EXPECT_EQ(yielded, 1);
    EXPECT_EQ(manual.now() - start, 0ms) << "the stream ended at its deadline, not at its end";
}

TEST(AsCompletedTest, TaskTimeoutYieldsSlowTasksAsTimedOut) {
    std::map<std::size_t, status> seen;
    manual_clock manual;
    const auto start = manual.now();
    run(manual, [&]() -> asio::awaitable<void> {
        std::vector<asio::awaitable<int>> tasks;
        tasks.push_back(value_after(0, forever));
        tasks.push_back(value_after(1, 0ms));
        muster::options o;
        o.task_timeout = 50ms;
        auto s = muster::as_completed(std::move(tasks), o);
        while (auto d = co_await s.next()) seen[d->index] = d->result.status();
    });
    EXPECT_EQ(manual.now() - start, 50ms);
    EXPECT_THAT(seen, ElementsAre(Pair(0u, status::timed_out), Pair(1u, status::ok)));
}

TEST(AsCompletedTest, FailFastYieldsTheFailureThenTheRestAsCancelled) {
    std::vector<std::pair<std::size_t, status>> seen;
    manual_clock manual;
    const auto start = manual.now();
    run(manual, [&]() -> asio::awaitable<void> {
        std::vector<asio::awaitable<int>> tasks;
        tasks.push_back(value_after(0, forever));
        tasks.push_back(fail_after("boom", 10ms));
        tasks.push_back(value_after(2, forever));
        tasks.push_back(value_after(3, forever));
        muster::options o;
        o.policy = muster::policy::fail_fast;
        auto s = muster::as_completed(std::move(tasks), o);
        while (auto d = co_await s.next()) seen.emplace_back(d->index, d->result.status());
    });
    EXPECT_EQ(manual.now() - start, 10ms);
    ASSERT_EQ(seen.size(), 4u);
    EXPECT_THAT(seen[0], Pair(1u, status::failed));
    std::vector<std::pair<std::size_t, status>> rest(seen.begin() + 1, seen.end());
    EXPECT_THAT(rest, UnorderedElementsAre(Pair(0u, status::cancelled), Pair(2u, status::cancelled),
                                           Pair(3u, status::cancelled)));
}

TEST(AsCompletedTest, NotStartedTasksAreNeverYielded) {
    task_probe never;
    std::vector<std::pair<std::size_t, status>> seen;
    run([&]() -> asio::awaitable<void> {
        std::vector<asio::awaitable<int>> tasks;
        tasks.push_back(fail_after("first fails", 0ms));
        for (int i = 1; i < 5; ++i) tasks.push_back(probed(frame_token(never), i, 0ms));
        muster::options o;
        o.limit = 1;
        o.policy = muster::policy::fail_fast;
        auto s = muster::as_completed(std::move(tasks), o);
        while (auto d = co_await s.next()) seen.emplace_back(d->index, d->result.status());
    });
    EXPECT_THAT(seen, ElementsAre(Pair(0u, status::failed)));
    EXPECT_EQ(never.started, 0);
    EXPECT_EQ(never.frames, 0);
}

TEST(AsCompletedTest, StreamStartedPastItsDeadlineEndsAndIsDestroyedCleanly) {
    task_probe never;
    std::size_t yielded = 0;
    run([&]() -> asio::awaitable<void> {
        muster::options o;
        o.deadline = co_await muster::now();
        {
            auto s = muster::as_completed(
                std::views::iota(0, 3) | std::views::transform([&never](int i) {
                    return probed(frame_token(never), i, 0ms);
                }),
                o);
            while (auto d = co_await s.next()) ++yielded;
        }  // destroyed at once after the end: nothing of it may still be scheduled
        co_await sleep_for(5ms);
    });
    EXPECT_EQ(yielded, 0u);
    EXPECT_EQ(never.started, 0);
    EXPECT_EQ(never.frames, 0);
}

// ---- early end: destroying the stream, cancelling the consumer ------------

TEST(AsCompletedTest, CancelStopsTheTasksAndTheStreamStillYieldsThem) {
    task_probe p;
    std::vector<std::pair<std::size_t, status>> seen;
    manual_clock manual;
    const auto start = manual.now();
    run(manual, [&]() -> asio::awaitable<void> {
        std::vector<asio::awaitable<int>> tasks;
        tasks.push_back(probed(frame_token(p), 0, 0ms));
        for (int i = 1; i < 4; ++i) tasks.push_back(probed(frame_token(p), i, forever));
        muster::options o;
        o.limit = 3;  // the last task is still waiting for a slot: not_started, never yielded
        auto s = muster::as_completed(std::move(tasks), o);
        while (auto d = co_await s.next()) {
            seen.emplace_back(d->index, d->result.status());
            s.cancel();
        }
    });
    EXPECT_EQ(manual.now() - start, 0ms);
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_THAT(seen[0], Pair(0u, status::ok));
    std::vector<std::pair<std::size_t, status>> rest(seen.begin() + 1, seen.end());
    EXPECT_THAT(rest,
                UnorderedElementsAre(Pair(1u, status::cancelled), Pair(2u, status::cancelled)));
    EXPECT_EQ(p.saw_cancellation, 2);
    EXPECT_EQ(p.started, 3);
    EXPECT_EQ(p.frames, 0);
}

TEST(AsCompletedTest, DestroyingTheStreamEarlyCancelsTheRemainingTasks) {
    task_probe p;
    std::optional<std::size_t> first_index;
    bool consumer_done = false;
    std::exception_ptr consumer_error;
    manual_clock manual;
    const auto start = manual.now();
    {
        asio::io_context io;
        asio::co_spawn(
            manual.executor(io),
            [&]() -> asio::awaitable<void> {
                std::vector<asio::awaitable<int>> tasks;
                tasks.push_back(probed(frame_token(p), 0, 0ms));
                for (int i = 1; i < 5; ++i) tasks.push_back(probed(frame_token(p), i, forever));
                auto s = muster::as_completed(std::move(tasks));
                while (auto d = co_await s.next()) {
                    first_index = d->index;
                    break;  // the stream dies at the end of this scope
                }
            },
            [&](std::exception_ptr e) {
                consumer_error = e;
                consumer_done = true;
            });
        EXPECT_TRUE(run_until_idle(manual, io))
            << "tasks kept running after the stream was destroyed";
        EXPECT_TRUE(consumer_done);
        EXPECT_FALSE(consumer_error);
        // Checked before the io_context is destroyed: the tasks' frames are
        // gone because the tasks ended, not because the context was torn down.
        EXPECT_EQ(p.frames, 0);
    }
    EXPECT_EQ(manual.now() - start, 0ms);
    EXPECT_EQ(first_index, std::optional<std::size_t>{0});
    EXPECT_EQ(p.started, 5);
    EXPECT_EQ(p.ran_to_end, 1);
    EXPECT_EQ(p.saw_cancellation, 4);
}

TEST(AsCompletedTest, CancellingTheConsumerStopsTheTasks) {
    task_probe p;
    bool consumer_done = false;
    std::exception_ptr consumer_error;
    manual_clock manual;
    const auto start = manual.now();
    asio::cancellation_signal cancel_consumer;  // outlives the io_context and the emit
    {
        asio::io_context io;
        asio::co_spawn(
            manual.executor(io),
            [&]() -> asio::awaitable<void> {
                std::vector<asio::awaitable<int>> tasks;
                for (int i = 0; i < 4; ++i) tasks.push_back(probed(frame_token(p), i, forever));
                auto s = muster::as_completed(std::move(tasks));
                while (co_await s.next()) {
                }
            },
            asio::bind_cancellation_slot(cancel_consumer.slot(), [&](std::exception_ptr e) {
                consumer_error = e;
                consumer_done = true;
            }));
        asio::co_spawn(manual.executor(io), cancel_after(&cancel_consumer, 50ms), asio::detached);
        EXPECT_TRUE(run_until_idle(manual, io))
            << "tasks kept running after the consumer was cancelled";
        EXPECT_TRUE(consumer_done);
        EXPECT_EQ(p.frames, 0);
    }
    EXPECT_EQ(manual.now() - start, 50ms);
    EXPECT_EQ(p.started, 4);
    EXPECT_EQ(p.ran_to_end, 0);
    EXPECT_EQ(p.saw_cancellation, 4);
    // A cancelled coroutine's next co_await throws operation_aborted (Asio's
    // throw_if_cancelled default); that is the only error allowed here.
    if (consumer_error) {
        try {
            std::rethrow_exception(consumer_error);
        } catch (const boost::system::system_error& e) {
            EXPECT_EQ(e.code(), asio::error::operation_aborted);
        } catch (...) {
            ADD_FAILURE() << "the consumer ended with an unexpected exception";
        }
    }
}

TEST(AsCompletedTest, CancelledConsumerThatKeepsReadingGetsEveryOutcomeAsCancelled) {
    // A consumer that turns off Asio's throw_if_cancelled keeps reading after
    // its cancellation: the stream yields every stopped task, then ends, as
    // completion_stream's documentation promises.
    std::vector<status> seen;
    bool ended = false;
    asio::cancellation_signal cancel_consumer;
    manual_clock manual;
    {
        asio::io_context io;
        asio::co_spawn(
            manual.executor(io),
            [&]() -> asio::awaitable<void> {
                co_await asio::this_coro::throw_if_cancelled(false);
                std::vector<asio::awaitable<int>> tasks;
                tasks.push_back(value_after(0, 0ms));
                for (int i = 1; i < 4; ++i) tasks.push_back(value_after(i, forever));
                auto s = muster::as_completed(std::move(tasks));
                while (auto d = co_await s.next()) seen.push_back(d->result.status());
                ended = true;
            },
            asio::bind_cancellation_slot(cancel_consumer.slot(),
                                         [](std::exception_ptr e) { EXPECT_FALSE(e); }));
        asio::co_spawn(manual.executor(io), cancel_after(&cancel_consumer, 50ms), asio::detached);
        EXPECT_TRUE(run_until_idle(manual, io));
    }
    EXPECT_TRUE(ended);
    EXPECT_THAT(seen,
                ElementsAre(status::ok, status::cancelled, status::cancelled, status::cancelled));
}

}  // namespace

}  // namespace as_completed_test
