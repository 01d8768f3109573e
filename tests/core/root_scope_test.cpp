#include <muster/core/scope.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <muster/core/gather.hpp>
#include <muster/core/group.hpp>
#include <muster/core/ledger.hpp>
#include <muster/core/options.hpp>
#include <muster/core/sleep.hpp>
#include <muster/testing/manual_clock.hpp>

namespace root_scope_test {

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using muster::clock;
using muster::status;

/// Returns `v` after `d` on the scope's clock.
asio::awaitable<int> after(clock::duration d, int v) {
    co_await muster::sleep_for(d);
    co_return v;
}

asio::awaitable<int> fail_after(clock::duration d) {
    co_await after(d, 0);
    throw std::runtime_error("boom");
}

/// Runs `body` on `scope`'s executor over a fresh io_context until it is
/// done, then lets any work it queued settle.
template <class Body>
void run_in(muster::root_scope& scope, asio::io_context& io, Body body) {
    bool done = false;
    asio::co_spawn(scope.executor(io.get_executor()), std::move(body),
                   [&done](std::exception_ptr e) {
                       if (e) std::rethrow_exception(e);
                       done = true;
                   });
    while (!done) io.run_one();
    io.poll();
}

TEST(RootScopeTest, LedgerRecordsEveryTaskOfNestedCollections) {
    asio::io_context io;
    muster::root_scope scope;
    run_in(scope, io, []() -> asio::awaitable<void> {
        muster::options o;
        o.retry.attempts = 2;
        o.retry.initial_backoff = 1ms;
        // Retries need tasks that can be made again: callables.
        std::vector<std::function<asio::awaitable<int>()>> tasks{[] { return after(1ms, 1); },
                                                                 [] { return fail_after(1ms); }};
        auto outer = co_await muster::gather(std::move(tasks), o);
        EXPECT_EQ(outer.count(status::ok), 1u);
        // A nested collection inside a task of the scope counts too.
        auto inner = co_await muster::with_group<int>(
            {}, [](muster::group<int>& g) -> asio::awaitable<void> {
                co_await g.spawn(after(1ms, 3));
            });
        EXPECT_EQ(inner.size(), 1u);
    });
    const muster::task_stats stats = scope.ledger().stats();
    EXPECT_EQ(stats.count(status::ok), 2u);
    EXPECT_EQ(stats.count(status::failed), 1u);
    EXPECT_EQ(stats.retries, 1u);
    EXPECT_EQ(stats.latencies.size(), 3u);
    EXPECT_EQ(scope.ledger().pending_work(), 0u);
}

TEST(RootScopeTest, StatsOfTwoScopesAdd) {
    muster::task_stats handler;
    handler.by_status[static_cast<std::size_t>(status::ok)] = 2;
    handler.by_status[static_cast<std::size_t>(status::failed)] = 1;
    handler.retries = 3;
    handler.latencies = {1ms, 2ms, 3ms};
    muster::task_stats after;
    after.by_status[static_cast<std::size_t>(status::ok)] = 1;
    after.by_status[static_cast<std::size_t>(status::timed_out)] = 1;
    after.retries = 1;
    after.latencies = {4ms, 5ms};

    handler += after;
    EXPECT_EQ(handler.count(status::ok), 3u);
    EXPECT_EQ(handler.count(status::failed), 1u);
    EXPECT_EQ(handler.count(status::timed_out), 1u);
    EXPECT_EQ(handler.total(), 5u);
    EXPECT_EQ(handler.retries, 4u);
    const std::vector<muster::clock::duration> in_order{1ms, 2ms, 3ms, 4ms, 5ms};
    EXPECT_EQ(handler.latencies, in_order);

    handler += handler;  // doubling itself reads what it had before
    EXPECT_EQ(handler.total(), 10u);
    EXPECT_EQ(handler.retries, 8u);
    ASSERT_EQ(handler.latencies.size(), 10u);
    EXPECT_EQ(handler.latencies[5], 1ms);
    EXPECT_EQ(handler.latencies[9], 5ms);
}

TEST(RootScopeTest, TasksInheritTheRootDeadline) {
    asio::io_context io;
    muster::testing::manual_clock time;
    const auto start = time.now();
    muster::root_scope scope(start + 30ms, {}, nullptr, &time);
    bool done = false;
    asio::co_spawn(
        scope.executor(io.get_executor()),
        []() -> asio::awaitable<void> {
            std::vector<asio::awaitable<int>> tasks;
            tasks.push_back(after(1ms, 1));
            tasks.push_back(after(5s, 2));
            auto r = co_await muster::gather(std::move(tasks), muster::options{});
            EXPECT_EQ(r[0].status(), status::ok);
            EXPECT_EQ(r[1].status(), status::timed_out);
            EXPECT_EQ(r[1].timings().run_time(), 30ms);
        },
        [&done](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
            done = true;
        });
    time.run(io);
    EXPECT_TRUE(done);
    EXPECT_EQ(time.now() - start, 30ms) << "the collection ended at the root's deadline";
    EXPECT_EQ(scope.ledger().stats().count(status::timed_out), 1u);
}

TEST(RootScopeTest, DetachedWorkIsPendingAfterTheBodyReturns) {
    asio::io_context io;
    muster::root_scope scope;
    auto fired = std::make_shared<bool>(false);
    run_in(scope, io, [fired]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto timer = std::make_shared<asio::steady_timer>(ex, 20ms);
        timer->async_wait([timer, fired](boost::system::error_code) { *fired = true; });
        co_return;
    });
    EXPECT_GT(scope.ledger().pending_work(), 0u);
    EXPECT_FALSE(*fired);
}

TEST(RootScopeTest, ClosedScopeDropsLateWorkWithoutRunningIt) {
    asio::io_context io;
    muster::root_scope scope;
    auto fired = std::make_shared<bool>(false);
    std::weak_ptr<asio::steady_timer> alive;
    run_in(scope, io, [fired, &alive]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto timer = std::make_shared<asio::steady_timer>(ex, 10ms);
        alive = timer;
        timer->async_wait([timer, fired](boost::system::error_code) { *fired = true; });
        co_return;
    });
    scope.ledger().close();
    io.run_for(200ms);
    EXPECT_FALSE(*fired);
    EXPECT_TRUE(alive.expired()) << "the dropped handler (and the timer it owned) was destroyed";
    EXPECT_EQ(scope.ledger().pending_work(), 0u);
}

TEST(RootScopeTest, OpenScopeRunsLateWork) {
    asio::io_context io;
    muster::root_scope scope;
    auto fired = std::make_shared<bool>(false);
    run_in(scope, io, [fired]() -> asio::awaitable<void> {
        auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor, 5ms);
        timer->async_wait([timer, fired](boost::system::error_code) { *fired = true; });
        co_return;
    });
    io.run_for(200ms);
    EXPECT_TRUE(*fired);
    EXPECT_EQ(scope.ledger().pending_work(), 0u);
}

TEST(RootScopeTest, DetachedCoroutineIsDroppedOnceClosed) {
    asio::io_context io;
    muster::root_scope scope;
    auto steps = std::make_shared<int>(0);
    run_in(scope, io, [steps]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        asio::co_spawn(
            ex,
            [steps]() -> asio::awaitable<void> {
                for (;;) {
                    ++*steps;
                    asio::steady_timer t(co_await asio::this_coro::executor, 5ms);
                    co_await t.async_wait(asio::use_awaitable);
                }
            },
            asio::detached);
        co_return;
    });
    EXPECT_GT(scope.ledger().pending_work(), 0u);
    scope.ledger().close();
    const int before = *steps;
    io.run_for(100ms);
    EXPECT_EQ(*steps, before);
    EXPECT_EQ(scope.ledger().pending_work(), 0u);
}

}  // namespace

namespace {

asio::awaitable<std::string> trace_after(clock::duration d) {
    co_await after(d, 0);
    co_return co_await muster::current_trace_id();
}

TEST(RootScopeTest, TraceIdReachesTasksOfNestedCollections) {
    asio::io_context io;
    muster::root_scope a(clock::time_point::max(), "Root=1-a");
    muster::root_scope b(clock::now() + 10s, "Root=1-b");
    std::vector<std::string> seen;
    auto collect = [&seen]() -> asio::awaitable<void> {
        muster::options o;
        o.task_timeout = 5s;  // a child scope of the root's
        auto outer = [](muster::options o) -> asio::awaitable<std::string> {
            auto inner = trace_after(1ms);
            auto [r] = co_await muster::gather(o, std::move(inner));
            co_return r.value();
        };
        auto first = outer(o);
        auto second = trace_after(2ms);
        auto [x, y] = co_await muster::gather(o, std::move(first), std::move(second));
        seen.push_back(x.value());
        seen.push_back(y.value());
    };
    // Two roots on one io_context at once, as two invocations would be.
    asio::co_spawn(a.executor(io.get_executor()), collect, asio::detached);
    asio::co_spawn(b.executor(io.get_executor()), collect, asio::detached);
    io.run();
    ASSERT_EQ(seen.size(), 4u);
    EXPECT_EQ(std::count(seen.begin(), seen.end(), "Root=1-a"), 2);
    EXPECT_EQ(std::count(seen.begin(), seen.end(), "Root=1-b"), 2);
    EXPECT_EQ(a.trace_id(), "Root=1-a");
}

TEST(RootScopeTest, NoTraceIdOutsideARootOrWithoutOne) {
    asio::io_context io;
    std::vector<std::string> seen;
    auto read = [&seen]() -> asio::awaitable<void> {
        seen.push_back(co_await muster::current_trace_id());
    };
    muster::root_scope none;
    asio::co_spawn(io, read, asio::detached);
    asio::co_spawn(none.executor(io.get_executor()), read, asio::detached);
    io.run();
    EXPECT_EQ(seen, (std::vector<std::string>{"", ""}));
}

}  // namespace

namespace {

TEST(RootScopeTest, ExecutorQueriesReadTheScopeOfTheExecutorTheyAreGiven) {
    asio::io_context io;
    const auto deadline = clock::now() + 10s;
    muster::root_scope scope(deadline, "Root=1-q");
    const asio::any_io_executor ex = scope.executor(io.get_executor());
    EXPECT_EQ(muster::deadline_of(ex), deadline);
    EXPECT_EQ(muster::trace_id_of(ex), "Root=1-q");
    // Inside a task: the nested scope a task_timeout opens keeps the root's
    // trace id and takes the earlier deadline.
    std::vector<clock::time_point> deadlines;
    std::vector<std::string> ids;
    run_in(scope, io, [&deadlines, &ids]() -> asio::awaitable<void> {
        muster::options o;
        o.task_timeout = 1s;
        auto read = [&deadlines, &ids]() -> asio::awaitable<void> {
            auto ex = co_await asio::this_coro::executor;
            deadlines.push_back(muster::deadline_of(ex));
            ids.emplace_back(muster::trace_id_of(ex));
        };
        auto [r] = co_await muster::gather(o, read());
        r.value();
    });
    ASSERT_EQ(deadlines.size(), 1u);
    EXPECT_LT(deadlines[0], deadline);
    EXPECT_EQ(ids, (std::vector<std::string>{"Root=1-q"}));
}

TEST(RootScopeTest, ExecutorQueriesOfAnExecutorWithoutScope) {
    asio::io_context io;
    const asio::any_io_executor ex = io.get_executor();
    EXPECT_EQ(muster::deadline_of(ex), clock::time_point::max());
    EXPECT_EQ(muster::trace_id_of(ex), "");
    EXPECT_EQ(muster::without_scope(ex), ex);
    muster::root_scope no_deadline;
    EXPECT_EQ(muster::deadline_of(no_deadline.executor(io.get_executor())),
              clock::time_point::max());
}

TEST(RootScopeTest, WorkOnAnExecutorWithoutScopeIsNeitherCountedNorDropped) {
    asio::io_context io;
    muster::root_scope scope(clock::now() + 10s, "Root=1-w");
    const asio::any_io_executor scoped = scope.executor(io.get_executor());
    const asio::any_io_executor bare = muster::without_scope(scoped);
    EXPECT_EQ(bare, asio::any_io_executor(io.get_executor()));
    EXPECT_EQ(muster::deadline_of(bare), clock::time_point::max());
    EXPECT_EQ(muster::trace_id_of(bare), "");

    auto fired = std::make_shared<bool>(false);
    auto timer = std::make_shared<asio::steady_timer>(bare, 5ms);
    timer->async_wait([timer, fired](boost::system::error_code) { *fired = true; });
    EXPECT_EQ(scope.ledger().pending_work(), 0u) << "the wait is not the scope's work";
    scope.ledger().close();
    io.run();
    EXPECT_TRUE(*fired) << "the scope's end does not drop it";
}

}  // namespace

}  // namespace root_scope_test
