#include <muster/core/scope.hpp>

#include <chrono>
#include <optional>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <muster/core/gather.hpp>
#include <muster/core/options.hpp>

#include "test_support.hpp"

namespace scope_test {

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using muster::clock;
using muster_test::run;
using muster_test::sleep;

using io_scope_executor = muster::basic_scope_executor<asio::io_context::executor_type>;

/// A scope executor on `io` whose deadline is `deadline`. Making one needs
/// `detail::`: the public API has no way to open a scope by hand.
io_scope_executor scope_on(asio::io_context& io, clock::time_point deadline) {
    return io_scope_executor(
        io.get_executor(),
        muster::detail::scope_ptr::adopt(new muster::detail::scope_state(nullptr, deadline)));
}

struct seen {
    std::optional<clock::time_point> deadline;
    clock::duration remaining{};
};

asio::awaitable<seen> look() {
    seen s;
    s.remaining = co_await muster::remaining();
    s.deadline = co_await muster::current_deadline();
    co_return s;
}

TEST(ScopeTest, RemainingIsMaxOutsideAnyScope) {
    EXPECT_EQ(run(look()).remaining, clock::duration::max());
}

TEST(ScopeTest, CurrentDeadlineIsEmptyOutsideAnyScope) {
    EXPECT_EQ(run(look()).deadline, std::nullopt);
}

/// Runs `look()` on `ex` (a scope executor used as an any_io_executor).
seen look_on(asio::io_context& io, asio::any_io_executor ex) {
    std::optional<seen> out;
    asio::co_spawn(ex, look(), [&out](std::exception_ptr e, seen s) {
        if (!e) out = s;
    });
    io.run();
    io.restart();
    EXPECT_TRUE(out.has_value());
    return out.value_or(seen{});
}

TEST(ScopeTest, RemainingCountsDownToTheScopesDeadline) {
    asio::io_context io;
    const auto deadline = clock::now() + 10s;
    const auto before = clock::now();
    auto s = look_on(io, scope_on(io, deadline));
    EXPECT_EQ(s.deadline, deadline);
    EXPECT_LE(s.remaining, deadline - before);
    EXPECT_GT(s.remaining, 9s);
}

TEST(ScopeTest, RemainingIsZeroOnceTheDeadlinePassed) {
    asio::io_context io;
    const auto deadline = clock::now() - 1s;
    auto s = look_on(io, scope_on(io, deadline));
    EXPECT_EQ(s.remaining, clock::duration::zero());
    EXPECT_EQ(s.deadline, deadline);
}

TEST(ScopeTest, ScopeWithoutStateHasNoDeadline) {
    asio::io_context io;
    auto s = look_on(io, io_scope_executor(io.get_executor(), {}));
    EXPECT_EQ(s.deadline, std::nullopt);
    EXPECT_EQ(s.remaining, clock::duration::max());
}

struct timer_report {
    seen in_parent;
    seen in_child;
    bool same_executor = false;
};

asio::awaitable<seen> sleep_then_look() {
    co_await sleep(2ms);
    co_return co_await look();
}

/// Uses its executor for a timer, a post and a nested co_spawn.
asio::awaitable<timer_report> use_the_executor() {
    timer_report rep;
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer timer(ex, 2ms);
    co_await timer.async_wait(asio::use_awaitable);
    co_await asio::post(ex, asio::use_awaitable);
    rep.in_parent = co_await look();
    rep.in_child = co_await asio::co_spawn(ex, sleep_then_look(), asio::use_awaitable);
    rep.same_executor = (co_await asio::this_coro::executor) == ex;
    co_return rep;
}

TEST(ScopeTest, ScopeExecutorServesAsAnyIoExecutorForTimersAndCoSpawn) {
    asio::io_context io;
    const auto deadline = clock::now() + 10s;
    asio::any_io_executor ex = scope_on(io, deadline);
    ASSERT_NE(ex.target<io_scope_executor>(), nullptr);
    std::optional<timer_report> rep;
    asio::co_spawn(ex, use_the_executor(), [&rep](std::exception_ptr e, timer_report r) {
        if (e) std::rethrow_exception(e);
        rep = r;
    });
    io.run();
    ASSERT_TRUE(rep.has_value());
    EXPECT_EQ(rep->in_parent.deadline, deadline);
    EXPECT_EQ(rep->in_child.deadline, deadline);  // co_spawn on it hands the scope down
    EXPECT_TRUE(rep->same_executor);
}

TEST(ScopeTest, ScopeExecutorsCompareInnerExecutorAndScope) {
    asio::io_context io;
    asio::io_context other;
    const auto d = clock::now() + 1s;
    auto a = scope_on(io, d);
    auto copy = a;
    EXPECT_EQ(a, copy);
    EXPECT_NE(a, scope_on(io, d));  // same deadline, different scope
    EXPECT_NE(a, io_scope_executor(other.get_executor(), a.scope_handle()));
    EXPECT_EQ(a.get_inner_executor(), io.get_executor());
    EXPECT_EQ(&asio::query(a, asio::execution::context), &io);
}

asio::awaitable<seen> look_inside_gather(muster::options o) {
    std::vector<asio::awaitable<seen>> tasks;
    tasks.push_back(look());
    auto r = co_await muster::gather(std::move(tasks), std::move(o));
    co_return r[0].value();
}

TEST(ScopeTest, TaskSeesItsTaskTimeoutWhenEarlierThanTheDeadline) {
    muster::options o;
    o.deadline = clock::now() + 10s;
    o.task_timeout = 1s;
    const auto before = clock::now();
    auto s = run(look_inside_gather(o));
    ASSERT_TRUE(s.deadline.has_value());
    EXPECT_LT(*s.deadline, *o.deadline);
    EXPECT_GE(*s.deadline, before + 1s);
    EXPECT_LE(s.remaining, 1s);
}

TEST(ScopeTest, TaskSeesTheDeadlineWhenEarlierThanItsTaskTimeout) {
    muster::options o;
    o.deadline = clock::now() + 1s;
    o.task_timeout = 10s;
    auto s = run(look_inside_gather(o));
    EXPECT_EQ(s.deadline, o.deadline);
}

asio::awaitable<seen> look_after_gather(muster::options o) {
    std::vector<asio::awaitable<seen>> tasks;
    tasks.push_back(look());
    (void)co_await muster::gather(std::move(tasks), std::move(o));
    co_return co_await look();
}

TEST(ScopeTest, GathersDeadlineDoesNotLeakIntoItsCaller) {
    muster::options o;
    o.deadline = clock::now() + 1s;
    auto s = run(look_after_gather(o));
    EXPECT_EQ(s.deadline, std::nullopt);
    EXPECT_EQ(s.remaining, clock::duration::max());
}

}  // namespace

}  // namespace scope_test
