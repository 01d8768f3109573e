#include <muster/core/gather.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
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
#include <boost/system/system_error.hpp>

#include <muster/core/errors.hpp>
#include <muster/core/options.hpp>
#include <muster/core/outcome.hpp>
#include <muster/core/results.hpp>
#include <muster/core/scope.hpp>
#include <muster/core/sleep.hpp>
#include <muster/core/status.hpp>

#include "test_support.hpp"

namespace gather_test {

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using muster::clock;
using muster::status;
using muster::testing::manual_clock;
using muster_test::frame_counter;
using muster_test::in_flight_probe;
using muster_test::sleep;
using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using factory = std::function<asio::awaitable<int>()>;

/// Every test here runs on a manual clock (see `muster_test::run_manual`):
/// timings are exact, and sleeping `forever` takes no real time.
template <class T>
T run(asio::awaitable<T> task) {
    return muster_test::run_manual(std::move(task));
}
template <class T>
T run(manual_clock& clock, asio::awaitable<T> task) {
    return muster_test::run_manual(clock, std::move(task));
}

/// Long enough that a test only finishes in time if the task was stopped.
constexpr auto forever = 10s;
/// A test that waited for `forever` somewhere fails against this bound.
constexpr auto well_before_forever = 5s;

/// Error types of the tests' own, to check that outcomes keep them.
struct disk_full : std::runtime_error {
    using std::runtime_error::runtime_error;
};
struct bad_input : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

asio::awaitable<int> value_after(int value, clock::duration d) {
    co_await sleep(d);
    co_return value;
}

template <class T = int, class E = disk_full>
asio::awaitable<T> fail_after(std::string message, clock::duration d) {
    co_await sleep(d);
    throw E(message);
}

/// Sleeps `forever`; records whether the sleep ended by cancellation.
asio::awaitable<int> sleep_until_cancelled(bool* saw_cancellation) {
    try {
        co_await sleep(forever);
    } catch (const boost::system::system_error& e) {
        *saw_cancellation = e.code() == asio::error::operation_aborted;
        throw;
    }
    co_return -1;
}

/// Fails with `disk_full` until it has been called `failures` times, then
/// returns `value`. `calls` counts every attempt.
asio::awaitable<int> flaky(int* calls, int failures, int value) {
    ++*calls;
    co_await sleep(1ms);
    if (*calls <= failures) throw disk_full("attempt " + std::to_string(*calls) + " failed");
    co_return value;
}

/// Fails at once, logging when each attempt started.
asio::awaitable<int> always_fails(std::vector<clock::time_point>* starts) {
    starts->push_back(co_await muster::now());
    throw disk_full("always");
}

asio::awaitable<int> trivial(int i) { co_return i; }

template <class T>
std::vector<status> statuses(const muster::results<T>& r) {
    std::vector<status> s;
    for (const auto& o : r) s.push_back(o.status());
    return s;
}

template <class T>
std::vector<std::size_t> order_of(const muster::results<T>& r) {
    auto o = r.completion_order();
    return {o.begin(), o.end()};
}

muster::options with_limit(std::size_t limit) {
    muster::options o;
    o.limit = limit;
    return o;
}

// ---- collect-all: order, errors, counts -------------------------------------

/// Task i finishes after (n - i) * 10 ms, so they finish in reverse order.
asio::awaitable<muster::results<int>> reverse_finishers(int n) {
    std::vector<asio::awaitable<int>> tasks;
    for (int i = 0; i < n; ++i) tasks.push_back(value_after(i * 100, (n - i) * 10ms));
    co_return co_await muster::gather(std::move(tasks));
}

TEST(GatherTest, ResultsAreInInputOrderWhateverOrderTasksFinish) {
    auto r = run(reverse_finishers(5));
    ASSERT_EQ(r.size(), 5u);
    for (std::size_t i = 0; i < r.size(); ++i) {
        ASSERT_TRUE(r[i].ok()) << i;
        EXPECT_EQ(r[i].value(), static_cast<int>(i) * 100);
    }
}

TEST(GatherTest, CompletionOrderRecordsTheOrderTasksFinished) {
    auto r = run(reverse_finishers(5));
    EXPECT_THAT(order_of(r), ElementsAre(4, 3, 2, 1, 0));
}

asio::awaitable<muster::results<int>> two_failures_among_successes() {
    std::vector<asio::awaitable<int>> tasks;
    tasks.push_back(value_after(1, 5ms));
    tasks.push_back(fail_after<int, disk_full>("disk full on /tmp", 1ms));
    tasks.push_back(value_after(3, 20ms));
    tasks.push_back(fail_after<int, bad_input>("row 7 is not a number", 10ms));
    co_return co_await muster::gather(std::move(tasks));
}

TEST(GatherTest, FailureDoesNotHideOtherResults) {
    auto r = run(two_failures_among_successes());
    ASSERT_EQ(r.size(), 4u);
    EXPECT_EQ(r[0].value(), 1);
    EXPECT_EQ(r[2].value(), 3);
    EXPECT_EQ(r[1].status(), status::failed);
    EXPECT_EQ(r[3].status(), status::failed);
    EXPECT_EQ(r[1].message(), "disk full on /tmp");
    EXPECT_EQ(r[3].message(), "row 7 is not a number");
}

TEST(GatherTest, FailedOutcomeKeepsTheTasksOwnException) {
    auto r = run(two_failures_among_successes());
    ASSERT_EQ(r.size(), 4u);
    EXPECT_THROW(r[1].value(), disk_full);
    EXPECT_THROW(r[3].value(), bad_input);
    try {
        r[3].value();
        ADD_FAILURE() << "value() of a failed outcome returned";
    } catch (const bad_input& e) {
        EXPECT_STREQ(e.what(), "row 7 is not a number");
    }
    EXPECT_EQ(r[1].attempts(), 1u);
}

asio::awaitable<int> own_time_limit_after(clock::duration d) {
    co_await value_after(0, d);
    throw muster::timeout_error("the decoder's own time limit passed");
}

asio::awaitable<muster::results<int>> a_task_enforcing_its_own_time_limit() {
    muster::options o;
    o.retry.attempts = 2;  // its last attempt decides
    auto make = [](int i) { return i == 0 ? own_time_limit_after(1ms) : value_after(2, 1ms); };
    auto tasks = std::views::iota(0, 2) | std::views::transform(make);
    co_return co_await muster::gather(tasks, o);
}

TEST(GatherTest, TaskThrowingATimeoutErrorItselfIsTimedOut) {
    // A limit muster enforces inside a task (a process pool's task timeout)
    // is a timeout, not a failure, and the outcome keeps the task's error.
    auto r = run(a_task_enforcing_its_own_time_limit());
    EXPECT_THAT(statuses(r), ElementsAre(status::timed_out, status::ok));
    EXPECT_EQ(r[0].message(), "the decoder's own time limit passed");
    EXPECT_EQ(r[0].attempts(), 2u);
}

/// Holds the thread for `d`, then fails with an error of its own.
asio::awaitable<int> fail_after_blocking(clock::duration d) {
    std::this_thread::sleep_for(d);
    throw std::runtime_error("gave up on its own");
    co_return 0;
}

TEST(GatherTest, TaskFailingOnceItsTimeoutHasPassedIsTimedOut) {
    // The task's scope carries its timeout as its deadline, so a timer
    // inside the task (an HTTP request's) may notice it before the
    // collection's does and fail the task with an error of its own: still a
    // timeout, whichever timer ran first. Here the task holds the thread
    // past its timeout and fails before the collection's timer can run.
    asio::io_context io;
    muster::results<int> r;
    asio::co_spawn(
        io,
        [&r]() -> asio::awaitable<void> {
            muster::options o;
            o.task_timeout = 20ms;
            std::vector<asio::awaitable<int>> tasks;
            tasks.push_back(fail_after_blocking(60ms));
            r = co_await muster::gather(tasks, o);
        },
        asio::detached);
    io.run();
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status(), status::timed_out) << r[0].message();
}

asio::awaitable<muster::results<int>> one_of_each_that_runs() {
    muster::options o;
    o.task_timeout = 150ms;
    std::vector<asio::awaitable<int>> tasks;
    tasks.push_back(value_after(1, 1ms));
    tasks.push_back(fail_after("a", 1ms));
    tasks.push_back(fail_after("b", 2ms));
    tasks.push_back(value_after(4, forever));  // timed out
    tasks.push_back(value_after(5, 2ms));
    co_return co_await muster::gather(std::move(tasks), o);
}

TEST(GatherTest, CountsOutcomesByStatus) {
    auto r = run(one_of_each_that_runs());
    EXPECT_EQ(r.count(status::ok), 2u);
    EXPECT_EQ(r.count(status::failed), 2u);
    EXPECT_EQ(r.count(status::timed_out), 1u);
    EXPECT_EQ(r.count(status::cancelled), 0u);
    EXPECT_EQ(r.count(status::not_started), 0u);
    EXPECT_FALSE(r.all_ok());
}

asio::awaitable<muster::results<int>> all_succeed() {
    co_return co_await muster::gather(
        std::views::iota(0, 4) | std::views::transform([](int i) { return value_after(i, 1ms); }));
}

TEST(GatherTest, AllOkOnlyWhenEveryTaskSucceeded) {
    auto good = run(all_succeed());
    EXPECT_TRUE(good.all_ok());
    EXPECT_EQ(good.count(status::ok), 4u);
    auto mixed = run(two_failures_among_successes());
    EXPECT_FALSE(mixed.all_ok());
}

// ---- limit --------------------------------------------------------------------

asio::awaitable<std::size_t> probe_limit(in_flight_probe* probe, int tasks, std::size_t limit) {
    auto r =
        co_await muster::gather(std::views::iota(0, tasks) | std::views::transform([probe](int i) {
                                    return muster_test::probed_task(probe, i, 1ms);
                                }),
                                with_limit(limit));
    co_return r.count(status::ok);
}

TEST(GatherTest, NeverRunsMoreThanLimitTasksAtOnce) {
    in_flight_probe probe;
    EXPECT_EQ(run(probe_limit(&probe, 200, 7)), 200u);
    EXPECT_EQ(probe.peak(), 7u);  // never above, and the limit was actually used
    EXPECT_EQ(probe.current(), 0u);
}

asio::awaitable<std::size_t> count_frames(frame_counter* frames, int tasks, std::size_t limit) {
    auto r = co_await muster::gather(
        std::views::iota(0, tasks) |
            std::views::transform([frames](int i) { return frames->task(i, (i % 3) * 1ms); }),
        with_limit(limit));
    co_return r.count(status::ok);
}

TEST(GatherTest, ATemporaryViewOutlivesTheCallThatNamedItsAwaitable) {
    // The awaitable is named first and awaited later (as GCC 12 needs): the view built in the
    // call, and the shared_ptr its lambda holds, must live in the awaitable, not on the stack.
    const auto owner = std::make_shared<int>(7);
    auto body = [](std::shared_ptr<int> held) -> asio::awaitable<int> {
        const std::vector<int> inputs{1, 2, 3};
        auto task = [held](int i) -> asio::awaitable<int> { co_return i * *held; };
        auto gathering = muster::gather(inputs | std::views::transform(task));
        // Reuses the stack the temporary view occupied.
        std::vector<std::string> scratch(8, std::string(64, 'x'));
        const auto r = co_await std::move(gathering);
        int sum = 0;
        for (std::size_t i = 0; i < r.size(); ++i) sum += r[i].value();
        co_return sum + static_cast<int>(scratch.size()) * 0;
    };
    EXPECT_EQ(run(body(owner)), 42);
    EXPECT_EQ(owner.use_count(), 1);
}

TEST(GatherTest, LazyViewHasNoMoreThanLimitTaskFramesAtOnce) {
    frame_counter frames;
    EXPECT_EQ(run(count_frames(&frames, 200, 7)), 200u);
    EXPECT_EQ(frames.created(), 200u);
    EXPECT_LE(frames.peak(), 7u);
    EXPECT_GE(frames.peak(), 2u);  // the probe does see concurrent frames
    EXPECT_EQ(frames.live(), 0u);
}

TEST(GatherTest, ZeroLimitIsInvalidArgument) {
    frame_counter frames;
    EXPECT_THROW(run(count_frames(&frames, 3, 0)), std::invalid_argument);
    EXPECT_EQ(frames.ran(), 0u);
}

// ---- task_timeout ---------------------------------------------------------------

asio::awaitable<muster::results<int>> queued_behind_each_other(int n, clock::duration each,
                                                               clock::duration timeout) {
    muster::options o;
    o.limit = 1;
    o.task_timeout = timeout;
    std::vector<asio::awaitable<int>> tasks;
    for (int i = 0; i < n; ++i) tasks.push_back(value_after(i, each));
    co_return co_await muster::gather(std::move(tasks), o);
}

TEST(GatherTest, TaskTimeoutStartsAtAdmissionNotWhileQueued) {
    // One at a time: the last task waits 120 ms for its slot and then runs
    // 30 ms, 150 ms after it was queued but inside its 120 ms from
    // admission.
    auto r = run(queued_behind_each_other(5, 30ms, 120ms));
    EXPECT_EQ(r.count(status::ok), 5u);
    EXPECT_EQ(r[4].status(), status::ok);
    EXPECT_EQ(r[4].timings().queue_time(), 120ms);
    EXPECT_EQ(r[4].timings().run_time(), 30ms);
}

asio::awaitable<muster::results<int>> one_slow_task(bool* saw_cancellation) {
    muster::options o;
    o.task_timeout = 150ms;
    std::vector<asio::awaitable<int>> tasks;
    tasks.push_back(value_after(0, 1ms));
    tasks.push_back(sleep_until_cancelled(saw_cancellation));
    tasks.push_back(value_after(2, 5ms));
    co_return co_await muster::gather(std::move(tasks), o);
}

TEST(GatherTest, TaskOverItsTimeoutIsTimedOutWhileSiblingsSucceed) {
    bool saw_cancellation = false;
    manual_clock manual;
    const auto start = manual.now();
    auto r = run(manual, one_slow_task(&saw_cancellation));
    EXPECT_EQ(manual.now() - start, 150ms);
    EXPECT_THAT(statuses(r), ElementsAre(status::ok, status::timed_out, status::ok));
    EXPECT_EQ(r[1].timings().run_time(), 150ms);
    EXPECT_TRUE(saw_cancellation);
    EXPECT_THROW(r[1].value(), muster::timeout_error);
    EXPECT_THAT(r[1].message(), HasSubstr("timed out"));
    EXPECT_THAT(r[1].message(), HasSubstr("150 ms"));
}

// ---- policies -------------------------------------------------------------------

struct stop_report {
    muster::results<int> results;
    std::size_t live_frames_after = 0;
    bool saw_cancellation[6] = {};
};

asio::awaitable<stop_report> fail_fast_with_sleepers(frame_counter* frames) {
    stop_report rep;
    muster::options o;
    o.limit = 3;
    o.policy = muster::policy::fail_fast;
    bool* seen = rep.saw_cancellation;
    auto tasks = std::views::iota(0, 6) | std::views::transform([frames, seen](int i) {
                     if (i == 0) return frames->wrap(fail_after("first one broke", 10ms));
                     return frames->wrap(sleep_until_cancelled(&seen[i]));
                 });
    rep.results = co_await muster::gather(tasks, o);
    rep.live_frames_after = frames->live();
    co_return rep;
}

TEST(GatherTest, FailFastCancelsRunningSiblingsAndWaitsForThem) {
    frame_counter frames;
    manual_clock manual;
    const auto start = manual.now();
    auto rep = run(manual, fail_fast_with_sleepers(&frames));
    EXPECT_LT(manual.now() - start, well_before_forever);
    const auto& r = rep.results;
    EXPECT_THAT(statuses(r),
                ElementsAre(status::failed, status::cancelled, status::cancelled,
                            status::not_started, status::not_started, status::not_started));
    EXPECT_EQ(r[0].message(), "first one broke");
    EXPECT_TRUE(rep.saw_cancellation[1]);
    EXPECT_TRUE(rep.saw_cancellation[2]);
    EXPECT_THROW(r[1].value(), muster::cancelled_error);
    EXPECT_THROW(r[3].value(), muster::not_started_error);
    EXPECT_EQ(rep.live_frames_after, 0u);  // siblings were waited for, not abandoned
    EXPECT_EQ(frames.created(), 3u);       // the never-admitted ones never got a frame
}

asio::awaitable<muster::results<int>> quorum_of_two(std::size_t k) {
    muster::options o;
    o.limit = 3;
    o.policy = muster::policy::quorum(k);
    auto tasks = std::views::iota(0, 6) |
                 std::views::transform([](int i) { return value_after(i, i < 2 ? 1ms : forever); });
    co_return co_await muster::gather(tasks, o);
}

TEST(GatherTest, QuorumStopsOnceKTasksSucceeded) {
    manual_clock manual;
    const auto start = manual.now();
    auto r = run(manual, quorum_of_two(2));
    EXPECT_EQ(manual.now() - start, 1ms);
    EXPECT_TRUE(r[0].ok());
    EXPECT_TRUE(r[1].ok());
    EXPECT_EQ(r.count(status::ok), 2u);
    for (std::size_t i = 2; i < r.size(); ++i)
        EXPECT_THAT(r[i].status(), AnyOf(status::cancelled, status::not_started)) << i;
    EXPECT_GE(r.count(status::cancelled), 1u);    // task 2 was running
    EXPECT_GE(r.count(status::not_started), 1u);  // task 5 can never have been admitted
}

asio::awaitable<muster::results<int>> quorum_out_of_reach() {
    muster::options o;
    o.policy = muster::policy::quorum(3);
    auto tasks = std::views::iota(0, 5) | std::views::transform([](int i) {
                     return i < 3 ? fail_after("no", i * 1ms) : value_after(i, forever);
                 });
    co_return co_await muster::gather(tasks, o);
}

TEST(GatherTest, QuorumStopsAsSoonAsItCanNoLongerBeReached) {
    manual_clock manual;
    const auto start = manual.now();
    auto r = run(manual, quorum_out_of_reach());
    EXPECT_EQ(manual.now() - start, 2ms);
    EXPECT_THAT(statuses(r), ElementsAre(status::failed, status::failed, status::failed,
                                         status::cancelled, status::cancelled));
}

asio::awaitable<muster::results<int>> sequential_failures(int failing, std::size_t tolerated) {
    muster::options o;
    o.limit = 1;
    o.policy = muster::policy::tolerate(tolerated);
    auto tasks = std::views::iota(0, 6) | std::views::transform([failing](int i) {
                     return i < failing ? fail_after("bad", 0ms) : value_after(i, 0ms);
                 });
    co_return co_await muster::gather(tasks, o);
}

TEST(GatherTest, TolerateStopsAtFailureNPlusOneNotAtN) {
    auto r = run(sequential_failures(6, 2));
    EXPECT_THAT(statuses(r),
                ElementsAre(status::failed, status::failed, status::failed, status::not_started,
                            status::not_started, status::not_started));
}

TEST(GatherTest, TolerateRunsEverythingWithAtMostNFailures) {
    auto r = run(sequential_failures(2, 2));
    EXPECT_EQ(r.count(status::failed), 2u);
    EXPECT_EQ(r.count(status::ok), 4u);
}

// ---- deadlines ------------------------------------------------------------------

struct deadline_report {
    muster::results<int> results;
    clock::time_point deadline;
    clock::time_point returned;
};

asio::awaitable<deadline_report> gather_with_deadline(frame_counter* frames, clock::duration in) {
    deadline_report rep;
    rep.deadline = co_await muster::now() + in;
    muster::options o;
    o.limit = 2;
    o.deadline = rep.deadline;
    // Tasks 0 and 1 finish well before the deadline; 2 and 3 run into it;
    // 4 and 5 never get a slot.
    auto tasks = std::views::iota(0, 6) | std::views::transform([frames](int i) {
                     return frames->task(i, i < 2 ? 30ms : forever);
                 });
    rep.results = co_await muster::gather(tasks, o);
    rep.returned = co_await muster::now();
    co_return rep;
}

TEST(GatherTest, DeadlineStopsTheCollectionAndReturnsPartialResults) {
    frame_counter frames;
    auto rep = run(gather_with_deadline(&frames, 150ms));
    const auto& r = rep.results;
    EXPECT_THAT(statuses(r),
                ElementsAre(status::ok, status::ok, status::timed_out, status::timed_out,
                            status::not_started, status::not_started));
    EXPECT_EQ(r[0].value(), 0);
    EXPECT_THROW(r[2].value(), muster::timeout_error);
    EXPECT_THAT(r[2].message(), HasSubstr("deadline"));
    EXPECT_THAT(r[4].message(), HasSubstr("deadline"));
    EXPECT_EQ(rep.returned, rep.deadline);  // it waited for the deadline, not for the tasks
    EXPECT_EQ(r[1].timings().run_time(), 30ms);
    EXPECT_EQ(r[2].timings().finished, rep.deadline);
    EXPECT_EQ(frames.live(), 0u);
}

TEST(GatherTest, DeadlineInThePastStartsNothing) {
    frame_counter frames;
    auto rep = run(gather_with_deadline(&frames, -1ms));
    EXPECT_EQ(rep.results.size(), 6u);
    EXPECT_EQ(rep.results.count(status::not_started), 6u);
    EXPECT_TRUE(rep.results.completion_order().empty());
    EXPECT_EQ(frames.created(), 0u);
    EXPECT_EQ(frames.ran(), 0u);
}

asio::awaitable<muster::results<int>> quick_tasks_with_deadline(clock::time_point deadline) {
    muster::options o;
    o.deadline = deadline;
    co_return co_await muster::gather(
        std::views::iota(0, 3) | std::views::transform([](int i) { return value_after(i, 1ms); }),
        o);
}

TEST(GatherTest, ReturnsAsSoonAsTasksFinishBeforeTheDeadline) {
    manual_clock manual;
    const auto start = manual.now();
    auto r = run(manual, quick_tasks_with_deadline(start + forever));
    EXPECT_TRUE(r.all_ok());
    EXPECT_EQ(manual.now() - start, 1ms);
}

asio::awaitable<int> quick_tasks_under_outer_deadline() {
    auto r = co_await muster::gather(
        std::views::iota(0, 3) | std::views::transform([](int i) { return value_after(i, 1ms); }));
    co_return static_cast<int>(r.count(status::ok));
}

asio::awaitable<muster::results<int>> outer_around_quick_inner(clock::time_point outer) {
    muster::options o;
    o.deadline = outer;
    o.policy = muster::policy::quorum(1);  // lets the outer gather itself end early
    std::vector<asio::awaitable<int>> tasks;
    tasks.push_back(quick_tasks_under_outer_deadline());
    co_return co_await muster::gather(std::move(tasks), o);
}

TEST(GatherTest, ReturnsAsSoonAsTasksFinishBeforeAnInheritedDeadline) {
    manual_clock manual;
    const auto start = manual.now();
    auto r = run(manual, outer_around_quick_inner(start + forever));
    EXPECT_EQ(r[0].value(), 3);
    EXPECT_EQ(manual.now() - start, 1ms);
}

struct seen_deadline {
    std::optional<clock::time_point> deadline;
    clock::duration remaining{};
    clock::duration outer_left_before{};
};

asio::awaitable<int> report_deadline(seen_deadline* out, clock::time_point outer) {
    out->outer_left_before = outer - co_await muster::now();
    out->remaining = co_await muster::remaining();
    out->deadline = co_await muster::current_deadline();
    co_return 0;
}

asio::awaitable<int> inner_gather(std::optional<clock::time_point> own, clock::time_point outer,
                                  std::vector<seen_deadline>* seen) {
    muster::options o;
    o.deadline = own;
    std::vector<asio::awaitable<int>> tasks;
    for (auto& s : *seen) tasks.push_back(report_deadline(&s, outer));
    auto r = co_await muster::gather(std::move(tasks), o);
    co_return static_cast<int>(r.count(status::ok));
}

/// An outer gather with deadline `outer`, one of whose tasks gathers
/// `seen->size()` inner tasks with the inner deadline `inner`.
asio::awaitable<int> nested_gathers(clock::time_point outer, std::optional<clock::time_point> inner,
                                    std::vector<seen_deadline>* seen) {
    muster::options o;
    o.deadline = outer;
    std::vector<asio::awaitable<int>> tasks;
    tasks.push_back(value_after(-1, 1ms));
    tasks.push_back(inner_gather(inner, outer, seen));
    auto r = co_await muster::gather(std::move(tasks), o);
    co_return r[1].value();
}

TEST(GatherTest, NestedGatherInheritsTheOuterDeadline) {
    manual_clock manual;
    const auto outer = manual.now() + 2s;
    std::vector<seen_deadline> seen(3);
    EXPECT_EQ(run(manual, nested_gathers(outer, std::nullopt, &seen)), 3);
    for (const auto& s : seen) {
        EXPECT_EQ(s.deadline, outer);
        EXPECT_EQ(s.remaining, 2s);
        EXPECT_EQ(s.outer_left_before, 2s);
    }
}

TEST(GatherTest, NestedGatherWithALaterDeadlineKeepsTheOuterOne) {
    manual_clock manual;
    const auto outer = manual.now() + 2s;
    std::vector<seen_deadline> seen(2);
    EXPECT_EQ(run(manual, nested_gathers(outer, outer + 10s, &seen)), 2);
    for (const auto& s : seen) EXPECT_EQ(s.deadline, outer);
}

TEST(GatherTest, NestedGatherWithAnEarlierDeadlineKeepsItsOwn) {
    manual_clock manual;
    const auto outer = manual.now() + 2s;
    const auto inner = outer - 1s;
    std::vector<seen_deadline> seen(2);
    EXPECT_EQ(run(manual, nested_gathers(outer, inner, &seen)), 2);
    for (const auto& s : seen) {
        EXPECT_EQ(s.deadline, inner);
        EXPECT_EQ(s.remaining, 1s);
    }
}

asio::awaitable<muster::results<int>> inner_sleepers() {
    std::vector<asio::awaitable<int>> tasks;
    tasks.push_back(value_after(1, 1ms));
    tasks.push_back(value_after(2, forever));
    co_return co_await muster::gather(std::move(tasks));  // no deadline of its own
}

asio::awaitable<int> keep_inner_results(std::optional<muster::results<int>>* out) {
    out->emplace(co_await inner_sleepers());
    co_return 0;
}

asio::awaitable<muster::results<int>> outer_with_deadline(
    std::optional<muster::results<int>>* inner) {
    muster::options o;
    o.deadline = co_await muster::now() + 100ms;
    std::vector<asio::awaitable<int>> tasks;
    tasks.push_back(keep_inner_results(inner));
    co_return co_await muster::gather(std::move(tasks), o);
}

TEST(GatherTest, NestedGatherStopsAtTheInheritedDeadline) {
    std::optional<muster::results<int>> inner;
    manual_clock manual;
    const auto start = manual.now();
    run(manual, outer_with_deadline(&inner));
    EXPECT_EQ(manual.now() - start, 100ms);
    ASSERT_TRUE(inner.has_value());
    EXPECT_THAT(statuses(*inner), ElementsAre(status::ok, status::timed_out));
}

// ---- retries --------------------------------------------------------------------

asio::awaitable<muster::results<int>> flaky_factories(std::vector<int>* calls, int failures,
                                                      muster::options o) {
    std::vector<factory> tasks;
    for (auto& c : *calls) tasks.push_back([p = &c, failures] { return flaky(p, failures, 7); });
    co_return co_await muster::gather(std::move(tasks), std::move(o));
}

muster::options quick_retries(unsigned attempts) {
    muster::options o;
    o.retry.attempts = attempts;
    o.retry.initial_backoff = 1ms;
    o.retry.max_backoff = 2ms;
    return o;
}

TEST(GatherTest, RetriesAFailingTaskUntilItSucceeds) {
    std::vector<int> calls(3, 0);
    auto r = run(flaky_factories(&calls, 2, quick_retries(3)));
    ASSERT_TRUE(r.all_ok());
    for (std::size_t i = 0; i < r.size(); ++i) {
        EXPECT_EQ(r[i].value(), 7);
        EXPECT_EQ(r[i].attempts(), 3u);
        EXPECT_EQ(calls[i], 3);
    }
}

TEST(GatherTest, GivesUpAfterTheLastAttemptWithTheLastError) {
    std::vector<int> calls(1, 0);
    auto r = run(flaky_factories(&calls, 5, quick_retries(3)));
    EXPECT_EQ(r[0].status(), status::failed);
    EXPECT_EQ(r[0].attempts(), 3u);
    EXPECT_EQ(r[0].message(), "attempt 3 failed");
}

TEST(GatherTest, RetryIfFalseIsNotRetried) {
    std::vector<int> calls(2, 0);
    auto o = quick_retries(3);
    o.retry.retry_if = [](std::exception_ptr e) {
        try {
            std::rethrow_exception(e);
        } catch (const disk_full&) {
            return false;
        } catch (...) {
            return true;
        }
    };
    auto r = run(flaky_factories(&calls, 2, o));
    for (std::size_t i = 0; i < r.size(); ++i) {
        EXPECT_EQ(r[i].status(), status::failed);
        EXPECT_EQ(r[i].attempts(), 1u);
        EXPECT_EQ(calls[i], 1);
    }
}

asio::awaitable<muster::results<int>> retry_into_deadline(std::vector<clock::time_point>* starts) {
    muster::options o;
    o.retry.attempts = 5;
    // Any drawn delay below 100 ms has a chance of about 1 in 10^6.
    o.retry.initial_backoff = 24h;
    o.retry.max_backoff = 24h;
    o.deadline = co_await muster::now() + 100ms;
    std::vector<factory> tasks;
    tasks.push_back([starts] { return always_fails(starts); });
    co_return co_await muster::gather(std::move(tasks), o);
}

TEST(GatherTest, RetryBackoffNeverSleepsPastTheDeadline) {
    std::vector<clock::time_point> starts;
    manual_clock manual;
    const auto start = manual.now();
    auto r = run(manual, retry_into_deadline(&starts));
    EXPECT_EQ(manual.now() - start, clock::duration::zero());  // it did not wait at all
    EXPECT_EQ(r[0].status(), status::failed);  // keeps its own error, not a timeout
    EXPECT_EQ(r[0].message(), "always");
    EXPECT_EQ(r[0].attempts(), 1u);
    EXPECT_EQ(starts.size(), 1u);
}

asio::awaitable<muster::results<int>> retry_with_timeout(std::vector<int>* calls,
                                                         clock::duration each_attempt) {
    muster::options o = quick_retries(10);
    o.task_timeout = 50ms;
    std::vector<factory> tasks;
    tasks.push_back([calls, each_attempt]() -> asio::awaitable<int> {
        return fail_after("slow failure " + std::to_string(++(*calls)[0]), each_attempt);
    });
    co_return co_await muster::gather(std::move(tasks), o);
}

TEST(GatherTest, TaskTimeoutCoversAllAttempts) {
    std::vector<int> calls(1, 0);
    auto r = run(retry_with_timeout(&calls, 20ms));
    EXPECT_THAT(r[0].status(), AnyOf(status::timed_out, status::failed));
    EXPECT_LT(r[0].attempts(), 10u);
    EXPECT_LE(r[0].timings().run_time(), 50ms);
}

TEST(GatherTest, TimedOutAttemptIsNotRetried) {
    std::vector<int> calls(1, 0);
    auto r = run(retry_with_timeout(&calls, forever));
    EXPECT_EQ(r[0].status(), status::timed_out);
    EXPECT_EQ(r[0].attempts(), 1u);
    EXPECT_EQ(calls[0], 1);
}

asio::awaitable<muster::results<int>> retry_ready_made_awaitables() {
    std::vector<asio::awaitable<int>> tasks;
    tasks.push_back(value_after(1, 1ms));
    co_return co_await muster::gather(std::move(tasks), quick_retries(2));
}

TEST(GatherTest, RetryWithReadyMadeAwaitablesIsInvalidArgument) {
    EXPECT_THROW(run(retry_ready_made_awaitables()), std::invalid_argument);
}

asio::awaitable<muster::results<int>> flaky_view(std::vector<int>* calls) {
    auto tasks = std::views::iota(0, static_cast<int>(calls->size())) |
                 std::views::transform([calls](int i) { return flaky(&(*calls)[i], 2, i); });
    co_return co_await muster::gather(tasks, quick_retries(3));
}

TEST(GatherTest, RetriesWorkWithATransformView) {
    std::vector<int> calls(4, 0);
    auto r = run(flaky_view(&calls));
    ASSERT_TRUE(r.all_ok());
    for (std::size_t i = 0; i < r.size(); ++i) {
        EXPECT_EQ(r[i].value(), static_cast<int>(i));
        EXPECT_EQ(r[i].attempts(), 3u);
    }
}

asio::awaitable<muster::results<int>> logged_retries(
    std::vector<std::vector<clock::time_point>>* logs, muster::options o) {
    std::vector<factory> tasks;
    for (auto& log : *logs) tasks.push_back([p = &log] { return always_fails(p); });
    co_return co_await muster::gather(std::move(tasks), std::move(o));
}

/// The gaps between consecutive attempts' starts, in every log.
std::vector<clock::duration> gaps(const std::vector<std::vector<clock::time_point>>& logs) {
    std::vector<clock::duration> g;
    for (const auto& log : logs)
        for (std::size_t i = 1; i < log.size(); ++i) g.push_back(log[i] - log[i - 1]);
    return g;
}

TEST(GatherTest, RetryDelaysNeverExceedMaxBackoff) {
    // Without the cap the delays would be drawn from up to 5, 500, 50000 and
    // 5000000 ms: the later attempts would either show long gaps or not be
    // made before the deadline.
    muster::options o;
    o.retry.attempts = 5;
    o.retry.initial_backoff = 5ms;
    o.retry.multiplier = 100.0;
    o.retry.max_backoff = 8ms;
    manual_clock manual;
    o.deadline = manual.now() + 400ms;
    std::vector<std::vector<clock::time_point>> logs(3);
    auto r = run(manual, logged_retries(&logs, o));
    for (const auto& out : r) EXPECT_EQ(out.attempts(), 5u);
    for (auto gap : gaps(logs)) EXPECT_LE(gap, 8ms);
}

TEST(GatherTest, RetryDelaysAreJittered) {
    // Full jitter draws each delay from [0, 100 ms]. Twenty draws spread over
    // less than 40 ms happen about once in two million runs; a fixed delay
    // (plus whatever stall the machine adds to all of them) spreads over
    // almost nothing.
    muster::options o;
    o.retry.attempts = 2;
    o.retry.initial_backoff = 100ms;
    o.retry.max_backoff = 100ms;
    std::vector<std::vector<clock::time_point>> logs(20);
    auto r = run(logged_retries(&logs, o));
    EXPECT_EQ(r.count(status::failed), 20u);
    const auto g = gaps(logs);
    ASSERT_EQ(g.size(), 20u);
    const auto [shortest, longest] = std::minmax_element(g.begin(), g.end());
    EXPECT_GE(*longest - *shortest, 40ms);
    for (auto gap : g) EXPECT_LE(gap, 100ms);
}

// ---- cancellation of the caller -------------------------------------------------

asio::awaitable<void> gather_until_cancelled(frame_counter* frames,
                                             std::optional<muster::results<int>>* out,
                                             std::size_t* live_after) {
    auto tasks = std::views::iota(0, 6) |
                 std::views::transform([frames](int i) { return frames->task(i, forever); });
    auto r = co_await muster::gather(tasks, with_limit(2));
    *live_after = frames->live();
    out->emplace(std::move(r));
}

/// Emits terminal cancellation on `signal` after `d` (on the io_context's
/// thread, like every emit).
asio::awaitable<void> cancel_after(asio::cancellation_signal* signal, clock::duration d) {
    co_await sleep(d);
    signal->emit(asio::cancellation_type::terminal);
}

TEST(GatherTest, CancellingTheCallerStopsTasksAndStillReturnsEveryOutcome) {
    asio::cancellation_signal signal;  // outlives the io_context and everything on it
    asio::io_context io;
    frame_counter frames;
    std::optional<muster::results<int>> r;
    std::size_t live_after = 99;
    std::exception_ptr error;
    bool completed = false;
    manual_clock manual;
    asio::co_spawn(manual.executor(io), gather_until_cancelled(&frames, &r, &live_after),
                   asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e) {
                       error = e;
                       completed = true;
                   }));
    asio::co_spawn(manual.executor(io), cancel_after(&signal, 20ms), asio::detached);
    const auto start = manual.now();
    manual.run(io);
    EXPECT_EQ(manual.now() - start, 20ms);
    ASSERT_TRUE(completed);
    EXPECT_FALSE(error);
    ASSERT_TRUE(r.has_value());
    EXPECT_THAT(statuses(*r),
                ElementsAre(status::cancelled, status::cancelled, status::not_started,
                            status::not_started, status::not_started, status::not_started));
    EXPECT_THROW((*r)[0].value(), muster::cancelled_error);
    EXPECT_EQ(live_after, 0u);
    EXPECT_EQ(frames.created(), 2u);
}

asio::awaitable<void> cancelled_then_gather(bool* gather_threw) {
    // Without this, the co_await itself would throw before gather is entered,
    // and the test would not see what gather does.
    co_await asio::this_coro::throw_if_cancelled(false);
    try {
        co_await sleep(forever);  // cut short by the cancellation
    } catch (const boost::system::system_error&) {
    }
    try {
        (void)co_await muster::gather(std::views::iota(0, 2) |
                                      std::views::transform([](int i) { return trivial(i); }));
    } catch (const boost::system::system_error& e) {
        *gather_threw = e.code() == asio::error::operation_aborted;
    }
}

TEST(GatherTest, CallerAlreadyCancelledMakesGatherThrowOperationAborted) {
    asio::cancellation_signal signal;
    asio::io_context io;
    bool gather_threw = false;
    manual_clock manual;
    asio::co_spawn(manual.executor(io), cancelled_then_gather(&gather_threw),
                   asio::bind_cancellation_slot(signal.slot(), asio::detached));
    asio::co_spawn(manual.executor(io), cancel_after(&signal, 5ms), asio::detached);
    manual.run(io);
    EXPECT_TRUE(gather_threw);
}

// ---- inputs -----------------------------------------------------------------------

asio::awaitable<muster::results<int>> gather_lvalue_vector(
    std::vector<asio::awaitable<int>>* tasks) {
    co_return co_await muster::gather(*tasks, with_limit(2));
}

TEST(GatherTest, AcceptsAnLvalueVectorOfTasks) {
    std::vector<asio::awaitable<int>> tasks;
    for (int i = 0; i < 4; ++i) tasks.push_back(value_after(i, 1ms));
    auto r = run(gather_lvalue_vector(&tasks));
    ASSERT_TRUE(r.all_ok());
    EXPECT_EQ(r[3].value(), 3);
}

asio::awaitable<muster::results<int>> gather_empty_vector() {
    co_return co_await muster::gather(std::vector<asio::awaitable<int>>{});
}

asio::awaitable<muster::results<int>> gather_empty_view() {
    muster::options o;
    o.limit = 3;
    o.policy = muster::policy::quorum(2);
    co_return co_await muster::gather(
        std::views::iota(0, 0) | std::views::transform([](int i) { return trivial(i); }), o);
}

TEST(GatherTest, EmptyVectorCompletesAtOnceWithEmptyResults) {
    auto r = run(gather_empty_vector());
    EXPECT_TRUE(r.empty());
    EXPECT_TRUE(r.completion_order().empty());
    EXPECT_TRUE(r.all_ok());
}

TEST(GatherTest, EmptyViewCompletesAtOnceWithEmptyResults) {
    auto r = run(gather_empty_view());
    EXPECT_EQ(r.size(), 0u);
    EXPECT_EQ(r.count(status::not_started), 0u);
}

asio::awaitable<std::string> text_after(std::string s, clock::duration d) {
    co_await sleep(d);
    co_return s;
}

asio::awaitable<void> set_after(bool* flag, clock::duration d) {
    co_await sleep(d);
    *flag = true;
}

using mixed_tuple = std::tuple<muster::outcome<int>, muster::outcome<std::string>,
                               muster::outcome<void>, muster::outcome<double>>;

asio::awaitable<mixed_tuple> variadic_mixed(bool* void_ran) {
    co_return co_await muster::gather(value_after(42, 15ms), text_after("forty-two", 5ms),
                                      set_after(void_ran, 10ms),
                                      fail_after<double, bad_input>("not a double", 1ms));
}

TEST(GatherTest, VariadicFormReturnsHeterogeneousOutcomesInArgumentOrder) {
    bool void_ran = false;
    auto [n, s, v, d] = run(variadic_mixed(&void_ran));
    EXPECT_EQ(n.value(), 42);
    EXPECT_EQ(s.value(), "forty-two");
    EXPECT_TRUE(v.ok());
    EXPECT_TRUE(void_ran);
    EXPECT_EQ(d.status(), status::failed);
    EXPECT_THROW(d.value(), bad_input);
    EXPECT_EQ(d.message(), "not a double");
}

asio::awaitable<
    std::tuple<muster::outcome<int>, muster::outcome<int>, muster::outcome<std::string>>>
variadic_with_options(in_flight_probe* probe) {
    muster::options o;
    o.limit = 1;
    o.task_timeout = 150ms;
    co_return co_await muster::gather(o, muster_test::probed_task(probe, 1, 5ms),
                                      muster_test::probed_task(probe, 2, 5ms),
                                      text_after("too slow", forever));
}

TEST(GatherTest, VariadicFormTakesOptions) {
    in_flight_probe probe;
    manual_clock manual;
    const auto start = manual.now();
    auto [a, b, slow] = run(manual, variadic_with_options(&probe));
    EXPECT_LT(manual.now() - start, well_before_forever);
    EXPECT_EQ(a.value(), 1);
    EXPECT_EQ(b.value(), 2);
    EXPECT_EQ(slow.status(), status::timed_out);
    EXPECT_EQ(probe.peak(), 1u);
}

asio::awaitable<void> variadic_with_retries() {
    (void)co_await muster::gather(quick_retries(3), value_after(1, 1ms), value_after(2, 1ms));
}

TEST(GatherTest, VariadicFormRejectsRetries) {
    EXPECT_THROW(run(variadic_with_retries()), std::invalid_argument);
}

asio::awaitable<std::pair<std::size_t, long long>> hundred_thousand() {
    auto r = co_await muster::gather(
        std::views::iota(0, 100'000) | std::views::transform([](int i) { return trivial(i); }),
        with_limit(1000));
    long long sum = 0;
    for (const auto& o : r) sum += o.value();
    co_return std::pair{r.count(status::ok), sum};
}

TEST(GatherTest, HundredThousandTasksWithALimitAllComplete) {
    auto [ok, sum] = run(hundred_thousand());
    EXPECT_EQ(ok, 100'000u);
    EXPECT_EQ(sum, 100'000LL * 99'999 / 2);
}

asio::awaitable<muster::results<int>> factories_one_throws() {
    std::vector<factory> tasks;
    tasks.push_back([] { return value_after(0, 1ms); });
    tasks.push_back([]() -> asio::awaitable<int> { throw bad_input("cannot even start"); });
    tasks.push_back([] { return value_after(2, 1ms); });
    co_return co_await muster::gather(std::move(tasks));
}

TEST(GatherTest, FactoryThrowingWhenCalledFailsOnlyItsOwnTask) {
    auto r = run(factories_one_throws());
    EXPECT_THAT(statuses(r), ElementsAre(status::ok, status::failed, status::ok));
    EXPECT_THROW(r[1].value(), bad_input);
    EXPECT_EQ(r[1].message(), "cannot even start");
    EXPECT_EQ(r[1].attempts(), 1u);
    EXPECT_EQ(r[2].value(), 2);
}

asio::awaitable<muster::results<int>> transform_one_throws() {
    co_return co_await muster::gather(std::views::iota(0, 3) | std::views::transform([](int i) {
                                          if (i == 1) throw bad_input("no task for 1");
                                          return trivial(i);
                                      }));
}

TEST(GatherTest, TransformThrowingFailsOnlyItsOwnTask) {
    auto r = run(transform_one_throws());
    EXPECT_THAT(statuses(r), ElementsAre(status::ok, status::failed, status::ok));
    EXPECT_EQ(r[1].message(), "no task for 1");
}

// ---- value types ---------------------------------------------------------------

asio::awaitable<std::unique_ptr<int>> boxed(int v) {
    co_await sleep(1ms);
    co_return std::make_unique<int>(v);
}

asio::awaitable<muster::results<std::unique_ptr<int>>> gather_boxes() {
    std::vector<asio::awaitable<std::unique_ptr<int>>> tasks;
    for (int i = 0; i < 3; ++i) tasks.push_back(boxed(i));
    co_return co_await muster::gather(std::move(tasks));
}

TEST(GatherTest, MoveOnlyResultsAreMovedOut) {
    auto r = run(gather_boxes());
    ASSERT_TRUE(r.all_ok());
    std::unique_ptr<int> p = std::move(r[2]).value();
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(*p, 2);
    ASSERT_NE(r[1].get_if(), nullptr);
    EXPECT_EQ(**r[1].get_if(), 1);
}

struct no_default {
    explicit no_default(int v) : value(v) {}
    int value;
};

asio::awaitable<no_default> make_no_default(int v) {
    co_await sleep(1ms);
    co_return no_default(v);
}

asio::awaitable<muster::results<no_default>> gather_no_default() {
    std::vector<asio::awaitable<no_default>> tasks;
    tasks.push_back(make_no_default(1));
    tasks.push_back(fail_after<no_default>("none", 1ms));
    co_return co_await muster::gather(std::move(tasks));
}

asio::awaitable<std::tuple<muster::outcome<no_default>, muster::outcome<std::unique_ptr<int>>>>
variadic_odd_types() {
    co_return co_await muster::gather(make_no_default(5), boxed(6));
}

TEST(GatherTest, NonDefaultConstructibleResultsWork) {
    auto r = run(gather_no_default());
    EXPECT_EQ(r[0].value().value, 1);
    EXPECT_EQ(r[1].status(), status::failed);
    auto [nd, box] = run(variadic_odd_types());
    EXPECT_EQ(nd.value().value, 5);
    EXPECT_EQ(*box.value(), 6);
}

// ---- timings ---------------------------------------------------------------------

asio::awaitable<muster::results<int>> fail_fast_timings() {
    muster::options o;
    o.limit = 2;
    o.policy = muster::policy::fail_fast;
    auto tasks =
        std::views::iota(0, 5) | std::views::transform([](int i) {
            return i == 0 ? fail_after("stop", 10ms) : value_after(i, i == 1 ? forever : 1ms);
        });
    co_return co_await muster::gather(tasks, o);
}

TEST(GatherTest, TimingsAreOrderedAndNotStartedTasksHaveNoAttempts) {
    auto r = run(fail_fast_timings());
    ASSERT_THAT(statuses(r), ElementsAre(status::failed, status::cancelled, status::not_started,
                                         status::not_started, status::not_started));
    for (std::size_t i = 0; i < 2; ++i) {
        const auto& t = r[i].timings();
        EXPECT_NE(t.started, clock::time_point{}) << i;
        EXPECT_LE(t.queued, t.started) << i;
        EXPECT_LE(t.started, t.finished) << i;
        EXPECT_EQ(t.run_time(), 10ms) << i;  // task 0 failed then, and task 1 was cancelled
        EXPECT_EQ(r[i].attempts(), 1u) << i;
    }
    for (std::size_t i = 2; i < r.size(); ++i) {
        const auto& t = r[i].timings();
        EXPECT_EQ(r[i].attempts(), 0u) << i;
        EXPECT_EQ(t.started, clock::time_point{}) << i;
        EXPECT_EQ(t.run_time(), clock::duration::zero()) << i;
        EXPECT_LE(t.queued, t.finished) << i;
    }
}

}  // namespace

}  // namespace gather_test
