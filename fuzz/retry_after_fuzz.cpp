// The Retry-After parser (delay-seconds and the three HTTP date forms).
// Input: the field's value.
#include "retry_after.hpp"

#include <chrono>

#include "fuzz_check.hpp"

using muster_fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto value = muster_fuzz::text(data, size);
    // A fixed "now" (2026-12-06T00:00:00Z) keeps a crash reproducible.
    const std::chrono::system_clock::time_point now{std::chrono::seconds(1796515200)};
    if (auto wait = muster::http::detail::retry_after(value, now)) {
        check(*wait >= muster::clock::duration::zero(), "a negative wait");
        check(*wait <= std::chrono::hours(24 * 366), "a wait over a year");
    }
    return 0;
}
