// The retry rule the collections, the HTTP client and muster::aws share:
// the delay arithmetic and the predicate's outcomes.
#include <chrono>
#include <exception>
#include <functional>
#include <random>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>

#include <muster/core/gather.hpp>
#include <muster/core/retry.hpp>

#include "test_support.hpp"

namespace retry_test {

namespace {

using namespace std::chrono_literals;
using muster::clock;
using muster::retry_policy;

retry_policy policy(std::chrono::milliseconds initial, std::chrono::milliseconds max,
                    double multiplier) {
    retry_policy p;
    p.attempts = 10;
    p.initial_backoff = initial;
    p.max_backoff = max;
    p.multiplier = multiplier;
    return p;
}

TEST(RetryDelayTest, BoundGrowsByTheMultiplierUpToTheMaximum) {
    const auto p = policy(100ms, 1000ms, 2.0);
    EXPECT_EQ(muster::retry_delay_bound(p, 1), 100ms);
    EXPECT_EQ(muster::retry_delay_bound(p, 2), 200ms);
    EXPECT_EQ(muster::retry_delay_bound(p, 3), 400ms);
    EXPECT_EQ(muster::retry_delay_bound(p, 4), 800ms);
    EXPECT_EQ(muster::retry_delay_bound(p, 5), 1000ms);
    EXPECT_EQ(muster::retry_delay_bound(p, 4'000'000'000u), 1000ms) << "no overflow, no long loop";
}

TEST(RetryDelayTest, BoundWithAFractionalMultiplierAndAZeroBackoff) {
    EXPECT_EQ(muster::retry_delay_bound(policy(100ms, 1000ms, 1.5), 3), 225ms);
    EXPECT_EQ(muster::retry_delay_bound(policy(0ms, 1000ms, 2.0), 5), 0ms);
    EXPECT_EQ(muster::retry_delay_bound(policy(500ms, 100ms, 2.0), 1), 100ms)
        << "the maximum wins over an initial backoff above it";
}

TEST(RetryDelayTest, WithoutJitterTheDelayIsTheBound) {
    auto p = policy(20ms, 1000ms, 4.0);
    p.jitter = false;
    std::minstd_rand rng(1);
    EXPECT_EQ(muster::retry_delay(p, 1, rng), 20ms);
    EXPECT_EQ(muster::retry_delay(p, 2, rng), 80ms);
    EXPECT_EQ(muster::retry_delay(p, 3, rng), 320ms);
    EXPECT_EQ(muster::retry_delay(p, 4), 1000ms);
}

TEST(RetryDelayTest, FullJitterDrawsFromZeroToTheBound) {
    const auto p = policy(100ms, 1000ms, 2.0);
    std::minstd_rand rng(42);
    clock::duration least = clock::duration::max();
    clock::duration most = clock::duration::zero();
    for (int i = 0; i < 2000; ++i) {
        const auto d = muster::retry_delay(p, 3, rng);
        ASSERT_GE(d, clock::duration::zero());
        ASSERT_LE(d, 400ms);
        least = std::min(least, d);
        most = std::max(most, d);
    }
    // 2,000 uniform draws over [0, 400 ms] reach both ends' tenths.
    EXPECT_LT(least, 40ms);
    EXPECT_GT(most, 360ms);
}

struct disk_full : std::runtime_error {
    disk_full() : std::runtime_error("disk full") {}
};

TEST(RetryIfTest, NoPredicateAllowsEveryRetry) {
    retry_policy p;
    std::exception_ptr failure = std::make_exception_ptr(disk_full());
    EXPECT_TRUE(muster::retry_if_allows(p, failure));
}

TEST(RetryIfTest, ThePredicatesAnswerDecidesAndTheFailureStays) {
    retry_policy p;
    p.retry_if = [](std::exception_ptr e) {
        try {
            std::rethrow_exception(e);
        } catch (const disk_full&) {
            return false;
        } catch (...) {
            return true;
        }
    };
    std::exception_ptr full = std::make_exception_ptr(disk_full());
    const std::exception_ptr before = full;
    EXPECT_FALSE(muster::retry_if_allows(p, full));
    EXPECT_EQ(full, before);
    std::exception_ptr other = std::make_exception_ptr(std::runtime_error("reset"));
    EXPECT_TRUE(muster::retry_if_allows(p, other));
}

TEST(RetryIfTest, APredicateThatThrowsIsReportedWithTheFailureNestedInIt) {
    retry_policy p;
    p.retry_if = [](std::exception_ptr) -> bool { throw std::logic_error("predicate bug"); };
    std::exception_ptr failure = std::make_exception_ptr(disk_full());
    EXPECT_FALSE(muster::retry_if_allows(p, failure));
    try {
        std::rethrow_exception(failure);
    } catch (const muster::retry_if_error& e) {
        EXPECT_STREQ(e.what(), "retry_if threw (predicate bug) deciding on: disk full");
        EXPECT_THROW(std::rethrow_exception(e.predicate_exception()), std::logic_error);
        EXPECT_THROW(e.rethrow_nested(), disk_full) << "the failure itself is kept";
        return;
    }
    FAIL() << "not a retry_if_error";
}

boost::asio::awaitable<muster::results<int>> gather_with_a_throwing_predicate(int* calls) {
    muster::options o;
    o.retry.attempts = 3;
    o.retry.initial_backoff = 0ms;
    o.retry.retry_if = [](std::exception_ptr) -> bool { throw std::logic_error("predicate bug"); };
    std::vector<std::function<boost::asio::awaitable<int>()>> tasks;
    tasks.push_back([calls]() -> boost::asio::awaitable<int> {
        ++*calls;
        throw disk_full();
        co_return 0;
    });
    co_return co_await muster::gather(std::move(tasks), o);
}

TEST(RetryIfTest, ACollectionFailsTheTaskWithTheRetryIfErrorAndDoesNotRetry) {
    int calls = 0;
    auto r = muster_test::run(gather_with_a_throwing_predicate(&calls));
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status(), muster::status::failed);
    EXPECT_EQ(r[0].attempts(), 1u);
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(r[0].message(), "retry_if threw (predicate bug) deciding on: disk full");
}

}  // namespace

}  // namespace retry_test
