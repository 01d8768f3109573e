#include <muster/core/outcome.hpp>

#include <chrono>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/awaitable.hpp>

#include <muster/core/errors.hpp>
#include <muster/core/gather.hpp>
#include <muster/core/options.hpp>
#include <muster/core/status.hpp>

#include "test_support.hpp"

namespace outcome_test {

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using muster::clock;
using muster::status;
using muster_test::run;

/// The outcome of `task` run alone by gather: how outcomes reach users.
template <class T>
asio::awaitable<muster::outcome<T>> outcome_of_task(asio::awaitable<T> task, muster::options o) {
    std::vector<asio::awaitable<T>> tasks;
    tasks.push_back(std::move(task));
    auto r = co_await muster::gather(std::move(tasks), std::move(o));
    co_return std::move(r[0]);
}

template <class T>
muster::outcome<T> outcome_of(asio::awaitable<T> task, muster::options o = {}) {
    return run(outcome_of_task<T>(std::move(task), std::move(o)));
}

asio::awaitable<int> returns(int v) { co_return v; }
asio::awaitable<std::string> returns_text(std::string s) { co_return s; }
asio::awaitable<std::unique_ptr<int>> returns_box(int v) { co_return std::make_unique<int>(v); }
asio::awaitable<void> returns_nothing() { co_return; }

struct parse_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

template <class T = int>
asio::awaitable<T> throws_parse_error(std::string what) {
    co_await muster_test::sleep(0ms);
    throw parse_error(what);
}

asio::awaitable<int> throws_an_int() {
    co_await muster_test::sleep(0ms);
    throw 42;
}

asio::awaitable<int> never_ends() {
    co_await muster_test::sleep(10s);
    co_return 0;
}

TEST(OutcomeTest, DefaultOutcomeIsNotStarted) {
    muster::outcome<int> o;
    EXPECT_EQ(o.status(), status::not_started);
    EXPECT_FALSE(o.ok());
    EXPECT_FALSE(static_cast<bool>(o));
    EXPECT_EQ(o.error(), nullptr);
    EXPECT_EQ(o.message(), "");
    EXPECT_EQ(o.attempts(), 0u);
    EXPECT_EQ(o.get_if(), nullptr);
    EXPECT_EQ(o.value_or(5), 5);
    EXPECT_EQ(o.timings().run_time(), clock::duration::zero());
    muster::outcome<void> v;
    EXPECT_EQ(v.status(), status::not_started);
}

TEST(OutcomeTest, ValueOfDefaultOutcomeThrowsNotStarted) {
    muster::outcome<int> o;
    EXPECT_THROW(o.value(), muster::not_started_error);
    EXPECT_THROW(std::move(o).value(), muster::not_started_error);
    const muster::outcome<void> v;
    EXPECT_THROW(v.value(), muster::not_started_error);
}

TEST(OutcomeTest, OkOutcomeHoldsTheValue) {
    auto o = outcome_of(returns(7));
    ASSERT_TRUE(o.ok());
    EXPECT_TRUE(static_cast<bool>(o));
    EXPECT_EQ(o.value(), 7);
    EXPECT_EQ(o.error(), nullptr);
    EXPECT_EQ(o.message(), "");
    EXPECT_EQ(o.attempts(), 1u);
}

TEST(OutcomeTest, ValueOrReturnsTheValueWhenOkAndTheFallbackOtherwise) {
    EXPECT_EQ(outcome_of(returns(7)).value_or(-1), 7);
    EXPECT_EQ(outcome_of(throws_parse_error("x")).value_or(-1), -1);
    EXPECT_EQ(outcome_of(returns_text("real")).value_or("fallback"), "real");
    EXPECT_EQ(outcome_of(throws_parse_error<std::string>("x")).value_or("fallback"), "fallback");
}

TEST(OutcomeTest, GetIfPointsAtTheValueOnlyWhenOk) {
    auto good = outcome_of(returns(7));
    ASSERT_NE(good.get_if(), nullptr);
    *good.get_if() = 8;
    EXPECT_EQ(good.value(), 8);
    const auto bad = outcome_of(throws_parse_error("x"));
    EXPECT_EQ(bad.get_if(), nullptr);
}

TEST(OutcomeTest, ValueRethrowsTheTasksOwnException) {
    auto o = outcome_of(throws_parse_error("line 3: unexpected ','"));
    EXPECT_EQ(o.status(), status::failed);
    EXPECT_THROW(o.value(), parse_error);
    EXPECT_THROW(std::move(o).value(), parse_error);
    EXPECT_EQ(o.message(), "line 3: unexpected ','");
    EXPECT_NE(o.error(), nullptr);
}

TEST(OutcomeTest, VoidOutcomeValueReturnsOrRethrows) {
    auto good = outcome_of(returns_nothing());
    EXPECT_TRUE(good.ok());
    EXPECT_NO_THROW(good.value());
    auto bad = outcome_of(throws_parse_error<void>("no"));
    EXPECT_THROW(bad.value(), parse_error);
}

TEST(OutcomeTest, MessageOfANonStandardExceptionIsUnknownException) {
    auto o = outcome_of(throws_an_int());
    EXPECT_EQ(o.status(), status::failed);
    EXPECT_EQ(o.message(), "unknown exception");
    EXPECT_THROW(o.value(), int);
}

TEST(OutcomeTest, TimedOutValueThrowsATimeoutErrorCarryingItsStatus) {
    muster::options opts;
    opts.task_timeout = 10ms;
    auto o = outcome_of(never_ends(), opts);
    EXPECT_EQ(o.status(), status::timed_out);
    try {
        o.value();
        ADD_FAILURE() << "value() of a timed-out outcome returned";
    } catch (const muster::timeout_error& e) {
        EXPECT_EQ(e.status(), status::timed_out);
    }
}

TEST(OutcomeTest, MoveOnlyValueIsMovedOutByRvalueValue) {
    auto o = outcome_of(returns_box(3));
    std::unique_ptr<int> p = std::move(o).value();
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(*p, 3);
    static_assert(!std::is_copy_constructible_v<muster::outcome<std::unique_ptr<int>>>);
    static_assert(std::is_nothrow_move_constructible_v<muster::outcome<std::unique_ptr<int>>>);
}

TEST(OutcomeTest, CopiesShareTheErrorAndCopyTheValue) {
    auto o = outcome_of(returns_text("abc"));
    auto copy = o;
    *copy.get_if() += "d";
    EXPECT_EQ(o.value(), "abc");
    EXPECT_EQ(copy.value(), "abcd");
    auto bad = outcome_of(throws_parse_error("x"));
    auto bad_copy = bad;
    EXPECT_EQ(bad_copy.error(), bad.error());
    EXPECT_EQ(bad_copy.status(), status::failed);
}

TEST(OutcomeTest, StatusNamesPrint) {
    EXPECT_EQ(muster::to_string(status::ok), "ok");
    EXPECT_EQ(muster::to_string(status::failed), "failed");
    EXPECT_EQ(muster::to_string(status::timed_out), "timed_out");
    EXPECT_EQ(muster::to_string(status::cancelled), "cancelled");
    EXPECT_EQ(muster::to_string(status::not_started), "not_started");
    std::ostringstream os;
    os << status::timed_out;
    EXPECT_EQ(os.str(), "timed_out");
}

TEST(OutcomeTest, WithErrorHoldsTheStatusAndTheError) {
    auto o = muster::outcome<int>::with_error(
        status::not_started, std::make_exception_ptr(muster::not_started_error("skipped")));
    EXPECT_EQ(o.status(), status::not_started);
    EXPECT_FALSE(o.ok());
    EXPECT_EQ(o.message(), "skipped");
    EXPECT_EQ(o.attempts(), 0u);
    EXPECT_EQ(o.get_if(), nullptr);
    EXPECT_THROW(o.value(), muster::not_started_error);

    auto v = muster::outcome<void>::with_error(status::failed,
                                               std::make_exception_ptr(std::runtime_error("boom")));
    EXPECT_EQ(v.status(), status::failed);
    EXPECT_EQ(v.message(), "boom");
    EXPECT_THROW(v.value(), std::runtime_error);
}

TEST(OutcomeTest, WithErrorRejectsOkAndAMissingError) {
    auto e = std::make_exception_ptr(std::runtime_error("boom"));
    EXPECT_THROW(muster::outcome<int>::with_error(status::ok, e), std::invalid_argument);
    EXPECT_THROW(muster::outcome<int>::with_error(status::failed, nullptr), std::invalid_argument);
    EXPECT_THROW(muster::outcome<void>::with_error(status::ok, e), std::invalid_argument);
    EXPECT_THROW(muster::outcome<void>::with_error(status::cancelled, nullptr),
                 std::invalid_argument);
}

}  // namespace

}  // namespace outcome_test
