#pragma once

// What every harness shares: the input as text, and a check that stops the
// run (a crash libFuzzer keeps) when a property of the code under test does
// not hold.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace muster_fuzz {

inline std::string_view text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

/// Aborts with `what` when `ok` is false.
inline void check(bool ok, const char* what) {
    if (ok) return;
    std::fprintf(stderr, "muster fuzz: property violated: %s\n", what);
    std::abort();
}

/// The first line of `in` (without its '\n'), and `in` moved past it.
inline std::string_view next_line(std::string_view& in) {
    const auto nl = in.find('\n');
    const auto line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    return line;
}

}  // namespace muster_fuzz
