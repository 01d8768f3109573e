#include <muster/core/group.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
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
#include <muster/core/from_callback.hpp>
#include <muster/core/gather.hpp>
#include <muster/core/options.hpp>
#include <muster/core/results.hpp>
#include <muster/core/scope.hpp>
#include <muster/core/status.hpp>

#include "task_probe.hpp"

namespace group_test {

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using muster::clock;
using muster::status;
using ::testing::ElementsAre;

// ---- local helpers (shared ones are in task_probe.hpp) -------------------

using namespace muster_test_probe;

/// Appends `name + " done"` to `log` when it finishes.
asio::awaitable<int> logged(std::vector<std::string>* log, std::string name, clock::duration d) {
    co_await sleep_for(d);
    log->push_back(name + " done");
    co_return 0;
}

std::ptrdiff_t position(const std::vector<std::string>& log, const std::string& entry) {
    auto it = std::find(log.begin(), log.end(), entry);
    EXPECT_NE(it, log.end()) << "missing log entry: " << entry;
    return it - log.begin();
}

std::vector<status> statuses_of(const auto& results) {
    std::vector<status> out;
    for (const auto& o : results) out.push_back(o.status());
    return out;
}

// ---- every outcome, in spawn order -----------------------------------------

TEST(GroupTest, ResultsCompleteInSpawnOrderEvenWhenBodyNeverReads) {
    auto r = run([]() -> asio::awaitable<muster::results<int>> {
        co_return co_await muster::with_group<int>(
            muster::options{}, [](muster::group<int>& g) -> asio::awaitable<void> {
                for (int i = 0; i < 5; ++i) co_await g.spawn(value_after(100 + i, (5 - i) * 10ms));
                co_await g.spawn(fail_after("spawned 5 failed", 0ms));
            });
    });
    ASSERT_EQ(r.size(), 6u);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(r[i].value(), 100 + i);
    EXPECT_EQ(r[5].status(), status::failed);
    EXPECT_EQ(r[5].message(), "spawned 5 failed");
    EXPECT_EQ(r.count(status::ok), 5u);
    EXPECT_EQ(r.completion_order().size(), 6u);
}

TEST(GroupTest, BodyThatSpawnsNothingCompletesWithEmptyResults) {
    auto r = run([]() -> asio::awaitable<muster::results<int>> {
        co_return co_await muster::with_group<int>(
            [](muster::group<int>&) -> asio::awaitable<void> { co_return; });
    });
    EXPECT_TRUE(r.empty());
}

// ---- back-pressure: spawn and try_spawn at the limit -----------------------

TEST(GroupTest, SpawnWaitsForAFreeSlotWhenTheLimitIsInFlight) {
    std::vector<std::string> log;
    task_probe p;
    auto r = run([&]() -> asio::awaitable<muster::results<int>> {
        muster::options o;
        o.limit = 2;
        co_return co_await muster::with_group<int>(
            o, [&](muster::group<int>& g) -> asio::awaitable<void> {
                co_await g.spawn(logged(&log, "t0", 30ms));
                co_await g.spawn(logged(&log, "t1", 60ms));
                log.push_back("spawning t2");
                co_await g.spawn(logged(&log, "t2", 0ms));
                log.push_back("t2 admitted");
                for (int i = 0; i < 6; ++i) co_await g.spawn(probed(frame_token(p), i, 5ms));
            });
    });
    EXPECT_EQ(r.size(), 9u);
    EXPECT_TRUE(r.all_ok());
    // The third spawn returned only after one of the first two finished.
    EXPECT_LT(position(log, "spawning t2"), position(log, "t0 done"));
    EXPECT_LT(position(log, "t0 done"), position(log, "t2 admitted"));
    EXPECT_LE(p.max_in_flight, 2);
    EXPECT_EQ(p.ran_to_end, 6);
}

TEST(GroupTest, TrySpawnReturnsFalseAtTheLimitAndRecordsNothing) {
    task_probe refused;
    bool accepted_at_limit = true;
    bool accepted_with_free_slot = false;
    std::size_t size_at_limit = 0;
    auto r = run([&]() -> asio::awaitable<muster::results<int>> {
        muster::options o;
        o.limit = 1;
        co_return co_await muster::with_group<int>(
            o, [&](muster::group<int>& g) -> asio::awaitable<void> {
                co_await g.spawn(value_after(1, 20ms));
                accepted_at_limit = g.try_spawn(probed(frame_token(refused), 2, 0ms));
                size_at_limit = g.size();
                co_await g.next();  // the slot is free again
                accepted_with_free_slot = g.try_spawn(value_after(3, 0ms));
            });
    });
    EXPECT_FALSE(accepted_at_limit);
    EXPECT_EQ(size_at_limit, 1u);
    EXPECT_TRUE(accepted_with_free_slot);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].value(), 1);
    EXPECT_EQ(r[1].value(), 3);
    EXPECT_EQ(refused.started, 0);
    EXPECT_EQ(refused.frames, 0);
}

// ---- next() ----------------------------------------------------------------

TEST(GroupTest, NextYieldsResultsInCompletionOrderThenNullopt) {
    std::vector<std::size_t> indices;
    std::vector<int> values;
    bool ended = false;
    run([&]() -> asio::awaitable<void> {
        co_await muster::with_group<int>(muster::options{},
                                         [&](muster::group<int>& g) -> asio::awaitable<void> {
                                             co_await g.spawn(value_after(10, 60ms));
                                             co_await g.spawn(value_after(11, 40ms));
                                             co_await g.spawn(value_after(12, 20ms));
                                             while (auto d = co_await g.next()) {
                                                 indices.push_back(d->index);
                                                 values.push_back(d->result.value());
                                             }
                                             ended = true;
                                         });
    });
    EXPECT_THAT(indices, ElementsAre(2, 1, 0));
    EXPECT_THAT(values, ElementsAre(12, 11, 10));
    EXPECT_TRUE(ended);
}

TEST(GroupTest, NextReturnsNulloptWhenNothingRunsAndSpawningAgainWorks) {
    std::vector<std::string> log;
    auto r = run([&]() -> asio::awaitable<muster::results<int>> {
        co_return co_await muster::with_group<int>(
            muster::options{}, [&](muster::group<int>& g) -> asio::awaitable<void> {
                if (!co_await g.next()) log.push_back("empty");
                co_await g.spawn(value_after(1, 5ms));
                if (auto d = co_await g.next()) log.push_back("got " + std::to_string(d->index));
                if (!co_await g.next()) log.push_back("empty");
                co_await g.spawn(value_after(2, 5ms));
                if (auto d = co_await g.next()) log.push_back("got " + std::to_string(d->index));
                if (!co_await g.next()) log.push_back("empty");
            });
    });
    EXPECT_THAT(log, ElementsAre("empty", "got 0", "empty", "got 1", "empty"));
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].value(), 1);
    EXPECT_EQ(r[1].value(), 2);
}

// ---- the body failing; deadline; policies; cancel() ------------------------

struct body_error : std::logic_error {
    using std::logic_error::logic_error;
};

TEST(GroupTest, BodyExceptionCancelsAndAwaitsTasksThenIsRethrown) {
    task_probe p;
    std::string caught;
    int frames_when_caught = -1;
    manual_clock manual;
    const auto start = manual.now();
    run(manual, [&]() -> asio::awaitable<void> {
        try {
            co_await muster::with_group<int>(
                muster::options{}, [&](muster::group<int>& g) -> asio::awaitable<void> {
                    for (int i = 0; i < 3; ++i)
                        co_await g.spawn(probed(frame_token(p), i, forever));
                    co_await sleep_for(10ms);
                    throw body_error("the body broke");
                });
        } catch (const body_error& e) {
            caught = e.what();
            frames_when_caught = p.frames;
        }
    });
    EXPECT_EQ(manual.now() - start, 10ms);
    EXPECT_EQ(caught, "the body broke");
    EXPECT_EQ(frames_when_caught, 0) << "with_group rethrew before its tasks had finished";
    EXPECT_EQ(p.saw_cancellation, 3);
    EXPECT_EQ(p.ran_to_end, 0);
}

TEST(GroupTest, DeadlineTimesOutRunningTasksAndCancelsTheBody) {
    bool body_saw_cancellation = false;
    manual_clock manual;
    const auto start = manual.now();
    auto r = run(manual, [&]() -> asio::awaitable<muster::results<int>> {
        muster::options o;
        o.deadline = co_await muster::now() + 100ms;
        co_return co_await muster::with_group<int>(
            o, [&](muster::group<int>& g) -> asio::awaitable<void> {
                co_await g.spawn(value_after(0, forever));
                co_await g.spawn(value_after(1, 0ms));
                co_await g.spawn(value_after(2, forever));
                try {
                    co_await sleep_for(forever);
                } catch (const boost::system::system_error& e) {
                    body_saw_cancellation = e.code() == asio::error::operation_aborted;
                    throw;
                }
            });
    });
    EXPECT_EQ(manual.now() - start, 100ms);
    EXPECT_TRUE(body_saw_cancellation);
    EXPECT_THAT(statuses_of(r), ElementsAre(status::timed_out, status::ok, status::timed_out));
    EXPECT_THROW(r[0].value(), muster::timeout_error);
}

TEST(GroupTest, GroupWithADeadlineReturnsWhenItsTasksFinish) {
    manual_clock manual;
    const auto start = manual.now();
    auto r = run(manual, []() -> asio::awaitable<muster::results<int>> {
        muster::options o;
        o.deadline = co_await muster::now() + 3s;
        co_return co_await muster::with_group<int>(
            o, [](muster::group<int>& g) -> asio::awaitable<void> {
                co_await g.spawn(value_after(1, 0ms));
            });
    });
    EXPECT_TRUE(r.all_ok());
    EXPECT_EQ(manual.now() - start, 0ms) << "with_group returned at its deadline, not at its end";
}

TEST(GroupTest, SpawnsAfterTheDeadlineAreRecordedNotStarted) {
    task_probe late;
    bool spawn_threw = false;
    auto r = run([&]() -> asio::awaitable<muster::results<int>> {
        muster::options o;
        o.deadline = co_await muster::now() + 50ms;
        co_return co_await muster::with_group<int>(
            o, [&](muster::group<int>& g) -> asio::awaitable<void> {
                // The deadline cancels the body too; to spawn after it, the
                // body must turn off Asio's throw_if_cancelled, or its next
                // co_await (the spawn) throws operation_aborted.
                co_await asio::this_coro::throw_if_cancelled(false);
                co_await g.spawn(value_after(0, forever));
                try {
                    co_await sleep_for(forever);
                } catch (const boost::system::system_error&) {
                }
                try {
                    co_await g.spawn(probed(frame_token(late), 1, 0ms));
                    co_await g.spawn(probed(frame_token(late), 2, 0ms));
                } catch (...) {
                    spawn_threw = true;
                }
            });
    });
    EXPECT_FALSE(spawn_threw);
    EXPECT_THAT(statuses_of(r),
                ElementsAre(status::timed_out, status::not_started, status::not_started));
    EXPECT_THROW(r[1].value(), muster::not_started_error);
    EXPECT_EQ(late.started, 0);
    EXPECT_EQ(late.frames, 0);
}

TEST(GroupTest, FailFastCancelsTheSiblings) {
    task_probe siblings;
    manual_clock manual;
    const auto start = manual.now();
    auto r = run(manual, [&]() -> asio::awaitable<muster::results<int>> {
        muster::options o;
        o.policy = muster::policy::fail_fast;
        co_return co_await muster::with_group<int>(
            o, [&](muster::group<int>& g) -> asio::awaitable<void> {
                co_await g.spawn(probed(frame_token(siblings), 0, forever));
                co_await g.spawn(fail_after("boom", 10ms));
                co_await g.spawn(probed(frame_token(siblings), 2, forever));
            });
    });
    EXPECT_EQ(manual.now() - start, 10ms);
    EXPECT_THAT(statuses_of(r), ElementsAre(status::cancelled, status::failed, status::cancelled));
    EXPECT_EQ(r[1].message(), "boom");
    EXPECT_THROW(r[0].value(), muster::cancelled_error);
    EXPECT_EQ(siblings.saw_cancellation, 2);
    EXPECT_EQ(siblings.frames, 0);
}

TEST(GroupTest, SpawnsAfterAFailFastStopAreRecordedNotStartedWithoutThrowing) {
    // An ordinary body (Asio's default throw_if_cancelled): a policy stop
    // cancels the tasks but not the body, which goes on spawning and reading.
    task_probe late;
    bool spawn_threw = false;
    std::vector<status> drained;
    auto r = run([&]() -> asio::awaitable<muster::results<int>> {
        muster::options o;
        o.policy = muster::policy::fail_fast;
        co_return co_await muster::with_group<int>(
            o, [&](muster::group<int>& g) -> asio::awaitable<void> {
                co_await g.spawn(value_after(0, forever));
                co_await g.spawn(fail_after("boom", 0ms));
                while (auto d = co_await g.next()) {
                    if (d->result.status() == status::failed) break;
                }
                try {
                    co_await g.spawn(probed(frame_token(late), 2, 0ms));
                    co_await g.spawn(probed(frame_token(late), 3, 0ms));
                } catch (...) {
                    spawn_threw = true;
                }
                while (auto d = co_await g.next()) drained.push_back(d->result.status());
            });
    });
    EXPECT_FALSE(spawn_threw);
    EXPECT_THAT(statuses_of(r), ElementsAre(status::cancelled, status::failed, status::not_started,
                                            status::not_started));
    EXPECT_THAT(drained, ElementsAre(status::cancelled));  // not_started is never yielded
    EXPECT_EQ(late.started, 0);
    EXPECT_EQ(late.frames, 0);
}

TEST(GroupTest, CancelFromTheBodyStopsTheTasksButNotTheBody) {
    task_probe p;
    bool accepted_after_cancel = true;
    bool spawn_threw = false;
    std::vector<status> drained;
    manual_clock manual;
    const auto start = manual.now();
    auto r = run(manual, [&]() -> asio::awaitable<muster::results<int>> {
        co_return co_await muster::with_group<int>(
            muster::options{}, [&](muster::group<int>& g) -> asio::awaitable<void> {
                for (int i = 0; i < 3; ++i) co_await g.spawn(probed(frame_token(p), i, forever));
                co_await sleep_for(20ms);
                g.cancel();
                accepted_after_cancel = g.try_spawn(value_after(9, 0ms));
                // The body goes on: it reads the stopped tasks and may spawn
                // (recorded not_started).
                while (auto d = co_await g.next()) drained.push_back(d->result.status());
                try {
                    co_await g.spawn(value_after(10, 0ms));
                } catch (...) {
                    spawn_threw = true;
                }
            });
    });
    EXPECT_EQ(manual.now() - start, 20ms);
    EXPECT_FALSE(accepted_after_cancel);
    EXPECT_FALSE(spawn_threw);
    EXPECT_THAT(drained, ElementsAre(status::cancelled, status::cancelled, status::cancelled));
    EXPECT_THAT(statuses_of(r), ElementsAre(status::cancelled, status::cancelled, status::cancelled,
                                            status::not_started));
    EXPECT_EQ(p.saw_cancellation, 3);
    EXPECT_EQ(p.ran_to_end, 0);
    EXPECT_EQ(p.frames, 0);
}

TEST(GroupTest, CancellingTheCallerStopsTheTasksAndTheBody) {
    task_probe p;
    bool body_saw_cancellation = false;
    bool completed = false;
    std::exception_ptr error;
    std::optional<muster::results<int>> r;
    manual_clock manual;
    const auto start = manual.now();
    asio::cancellation_signal cancel_caller;  // outlives the io_context and the emit
    {
        asio::io_context io;
        asio::co_spawn(
            manual.executor(io),
            muster::with_group<int>(muster::options{},
                                    [&](muster::group<int>& g) -> asio::awaitable<void> {
                                        for (int i = 0; i < 3; ++i)
                                            co_await g.spawn(probed(frame_token(p), i, forever));
                                        try {
                                            co_await sleep_for(forever);
                                        } catch (const boost::system::system_error& e) {
                                            body_saw_cancellation =
                                                e.code() == asio::error::operation_aborted;
                                            throw;
                                        }
                                    }),
            asio::bind_cancellation_slot(cancel_caller.slot(),
                                         [&](std::exception_ptr e, muster::results<int> v) {
                                             error = e;
                                             if (!e) r.emplace(std::move(v));
                                             completed = true;
                                         }));
        asio::co_spawn(manual.executor(io), cancel_after(&cancel_caller, 50ms), asio::detached);
        manual.run(io);
        EXPECT_TRUE(io.stopped());
        EXPECT_EQ(p.frames, 0);
    }
    EXPECT_EQ(manual.now() - start, 50ms);
    ASSERT_TRUE(completed);
    EXPECT_FALSE(error);
    EXPECT_TRUE(body_saw_cancellation);
    ASSERT_TRUE(r.has_value());
    EXPECT_THAT(statuses_of(*r),
                ElementsAre(status::cancelled, status::cancelled, status::cancelled));
    EXPECT_EQ(p.saw_cancellation, 3);
}

// ---- nesting, void tasks, factories with retries ----------------------------

asio::awaitable<clock::duration> remaining_after(clock::duration d) {
    co_await sleep_for(d);
    co_return co_await muster::remaining();
}

/// A task of a gather that runs a group of its own, with a far later deadline.
asio::awaitable<muster::results<clock::duration>> inner_group() {
    muster::options o;
    o.deadline = co_await muster::now() + 1h;
    co_return co_await muster::with_group<clock::duration>(
        o, [](muster::group<clock::duration>& g) -> asio::awaitable<void> {
            co_await g.spawn(muster::remaining());
            co_await g.spawn(remaining_after(5ms));
            co_await g.spawn([] { return muster::remaining(); });
        });
}

TEST(GroupTest, NestedGroupInheritsTheOuterDeadline) {
    auto r = run([]() -> asio::awaitable<muster::results<muster::results<clock::duration>>> {
        std::vector<asio::awaitable<muster::results<clock::duration>>> tasks;
        tasks.push_back(inner_group());
        muster::options o;
        o.deadline = co_await muster::now() + 1s;
        co_return co_await muster::gather(std::move(tasks), o);
    });
    ASSERT_EQ(r.size(), 1u);
    ASSERT_TRUE(r[0].ok()) << r[0].message();
    const auto& inner = r[0].value();
    ASSERT_EQ(inner.size(), 3u);
    std::vector<clock::duration> left;
    for (const auto& o : inner) {
        ASSERT_TRUE(o.ok()) << o.message();
        left.push_back(o.value());
    }
    // The outer deadline (1 s), not the inner one (1 h); the second task
    // asked after sleeping 5 ms.
    EXPECT_THAT(left,
                ElementsAre(clock::duration(1s), clock::duration(995ms), clock::duration(1s)));
}

asio::awaitable<void> touch(int* counter, bool fail) {
    co_await sleep_for(1ms);
    if (fail) throw test_error("void task failed");
    ++*counter;
}

TEST(GroupTest, VoidTasksAreCollected) {
    int ran = 0;
    auto r = run([&]() -> asio::awaitable<muster::results<void>> {
        co_return co_await muster::with_group<void>(
            muster::options{}, [&](muster::group<void>& g) -> asio::awaitable<void> {
                co_await g.spawn(touch(&ran, false));
                co_await g.spawn(touch(&ran, true));
                co_await g.spawn([&ran] { return touch(&ran, false); });
            });
    });
    EXPECT_EQ(ran, 2);
    EXPECT_THAT(statuses_of(r), ElementsAre(status::ok, status::failed, status::ok));
    EXPECT_EQ(r[1].message(), "void task failed");
    EXPECT_THROW(r[1].value(), test_error);
}

/// Fails on its first `failures` calls (counted in `*calls`), then returns 7.
asio::awaitable<int> flaky(int* calls, int failures) {
    co_await sleep_for(1ms);
    if (++*calls <= failures) throw test_error("attempt " + std::to_string(*calls) + " failed");
    co_return 7;
}

TEST(GroupTest, SpawnedFactoriesAreRetried) {
    int recovering_calls = 0;
    int hopeless_calls = 0;
    auto r = run([&]() -> asio::awaitable<muster::results<int>> {
        muster::options o;
        o.retry.attempts = 3;
        o.retry.initial_backoff = 1ms;
        o.retry.max_backoff = 5ms;
        co_return co_await muster::with_group<int>(
            o, [&](muster::group<int>& g) -> asio::awaitable<void> {
                co_await g.spawn([&recovering_calls] { return flaky(&recovering_calls, 2); });
                co_await g.spawn([&hopeless_calls] { return flaky(&hopeless_calls, 100); });
            });
    });
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].value(), 7);
    EXPECT_EQ(r[0].attempts(), 3u);
    EXPECT_EQ(recovering_calls, 3);
    EXPECT_EQ(r[1].status(), status::failed);
    EXPECT_EQ(r[1].attempts(), 3u);
    EXPECT_EQ(r[1].message(), "attempt 3 failed");
    EXPECT_EQ(hopeless_calls, 3);
}

// ---- the seed's third pattern ----------------------------------------------

/// Starts a thread that sleeps `delay` and then delivers `value` through the
/// completion handle, as a foreign SDK's callback would.
asio::awaitable<int> from_foreign_thread(std::vector<std::jthread>* threads, int value,
                                         clock::duration delay) {
    co_return co_await muster::from_callback<int>(
        [threads, value, delay](muster::completion<int> c) {
            threads->emplace_back([c = std::move(c), value, delay] {
                std::this_thread::sleep_for(delay);
                c.set_value(value);
            });
        });
}

// The seed's threads + queue.Queue + Event pattern waits for the Event that
// the FIRST finished thread sets, then drains the queue: every result that
// arrives later is lost. Here 16 threads finish at different times (some in
// reverse spawn order) and every result must be there, each with its own
// value, both as read by the body and as returned.
TEST(GroupTest, SeedThirdPatternLosesNoResultFromForeignThreads) {
    constexpr int n = 16;
    std::vector<std::jthread> threads;  // joined when the test ends
    std::vector<std::pair<std::size_t, int>> read_by_body;
    auto r = run([&]() -> asio::awaitable<muster::results<int>> {
        co_return co_await muster::with_group<int>(
            muster::options{}, [&](muster::group<int>& g) -> asio::awaitable<void> {
                for (int i = 0; i < n; ++i) {
                    const int step = i % 2 == 0 ? i : n - i;  // odd ones in reverse order
                    co_await g.spawn(from_foreign_thread(&threads, 1000 + i, step * 3ms));
                }
                while (auto d = co_await g.next()) {
                    read_by_body.emplace_back(d->index, d->result.value_or(-1));
                }
            });
    });
    threads.clear();
    ASSERT_EQ(r.size(), static_cast<std::size_t>(n));
    EXPECT_EQ(r.count(status::ok), static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) EXPECT_EQ(r[i].value_or(-1), 1000 + i) << "task " << i;
    ASSERT_EQ(read_by_body.size(), static_cast<std::size_t>(n));
    std::sort(read_by_body.begin(), read_by_body.end());
    for (int i = 0; i < n; ++i) {
        EXPECT_EQ(read_by_body[i].first, static_cast<std::size_t>(i));
        EXPECT_EQ(read_by_body[i].second, 1000 + i);
    }
}

}  // namespace

}  // namespace group_test
