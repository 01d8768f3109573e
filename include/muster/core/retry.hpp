/// @file
/// The arithmetic and the predicate of a `retry_policy`, as the collections,
/// the HTTP client and `muster::aws` apply them: one rule for all three.
#pragma once

#include <algorithm>
#include <chrono>
#include <exception>
#include <random>
#include <string>

#include <muster/core/errors.hpp>
#include <muster/core/options.hpp>
#include <muster/core/outcome.hpp>

namespace muster {

/// The longest delay `p` allows before attempt `attempt + 1`, where
/// `attempt` (from 1) is the number of attempts made:
/// `min(max_backoff, initial_backoff * multiplier^(attempt - 1))`.
///
/// @code
/// // initial 100 ms, multiplier 2, max 10 s: 100 ms, 200 ms, 400 ms, ... 10 s
/// auto bound = muster::retry_delay_bound(policy, 3);  // 400 ms
/// @endcode
inline clock::duration retry_delay_bound(const retry_policy& p, unsigned attempt) noexcept {
    const double max = static_cast<double>(p.max_backoff.count());
    double bound = static_cast<double>(p.initial_backoff.count());
    for (unsigned i = 1; i < attempt && bound < max; ++i) bound *= p.multiplier;
    bound = std::clamp(bound, 0.0, max);
    return std::chrono::duration_cast<clock::duration>(
        std::chrono::duration<double, std::milli>(bound));
}

/// The delay before attempt `attempt + 1` (see `retry_delay_bound`): drawn
/// uniformly from `[0, bound]` with `rng` ("full jitter"), or the bound
/// itself when `p.jitter` is false.
template <class UniformRandomBitGenerator>
clock::duration retry_delay(const retry_policy& p, unsigned attempt,
                            UniformRandomBitGenerator& rng) {
    const clock::duration bound = retry_delay_bound(p, attempt);
    if (!p.jitter || bound <= clock::duration::zero()) return bound;
    std::uniform_int_distribution<clock::rep> draw(0, bound.count());
    return clock::duration(draw(rng));
}

/// The same, drawn from a generator of the calling thread's.
inline clock::duration retry_delay(const retry_policy& p, unsigned attempt) {
    thread_local std::minstd_rand rng{
        static_cast<std::minstd_rand::result_type>(clock::now().time_since_epoch().count())};
    return retry_delay(p, attempt, rng);
}

/// Whether `p.retry_if` lets `failure` be retried (true when there is no
/// predicate). When the predicate throws, the answer is no and `failure`
/// becomes a `retry_if_error` holding both exceptions, which is what the
/// caller then reports.
inline bool retry_if_allows(const retry_policy& p, std::exception_ptr& failure) {
    if (!p.retry_if) return true;
    std::exception_ptr thrown;  // what the predicate threw, and its text
    std::string what;
    try {
        return p.retry_if(failure);
    } catch (const std::exception& e) {
        thrown = std::current_exception();
        what = e.what();
    } catch (...) {
        thrown = std::current_exception();
        what = "an exception that is not a std::exception";
    }
    if (!failure) {
        failure = std::make_exception_ptr(retry_if_error("retry_if threw (" + what + ")", thrown));
        return false;
    }
    try {
        std::rethrow_exception(failure);
    } catch (const std::exception& e) {
        failure = std::make_exception_ptr(
            retry_if_error("retry_if threw (" + what + ") deciding on: " + e.what(), thrown));
    } catch (...) {
        failure = std::make_exception_ptr(retry_if_error(
            "retry_if threw (" + what + ") deciding on a failure that is not a std::exception",
            thrown));
    }
    return false;
}

}  // namespace muster
