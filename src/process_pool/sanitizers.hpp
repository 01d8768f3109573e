#pragma once

// Whether this build runs under a sanitizer that reserves terabytes of
// address space for its shadow memory, which makes any RLIMIT_AS fail.

namespace muster::detail {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool sanitizer_reserves_address_space = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
inline constexpr bool sanitizer_reserves_address_space = true;
#else
inline constexpr bool sanitizer_reserves_address_space = false;
#endif
#else
inline constexpr bool sanitizer_reserves_address_space = false;
#endif

}  // namespace muster::detail
