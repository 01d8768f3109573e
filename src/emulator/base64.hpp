#pragma once

// Base64 as the emulator reads it from clients and functions: the invoke
// route's `X-Amz-Client-Context`, a streamed response's
// `Lambda-Runtime-Function-Error-Body` trailer.

#include <cstdint>
#include <string>
#include <string_view>

namespace muster::emulator::detail {

/// `encoded` decoded (the standard alphabet), up to its first character that
/// is not base64 (padding included). Unpadded text decodes whole; bits left
/// over at the end that make no whole byte are dropped.
inline std::string decode_base64(std::string_view encoded) {
    const auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    std::string decoded;
    decoded.reserve(encoded.size() / 4 * 3 + 2);
    std::uint32_t bits = 0;
    int count = 0;  // bits held in `bits`
    for (const char c : encoded) {
        const int v = value(c);
        if (v < 0) break;
        bits = (bits << 6) | static_cast<std::uint32_t>(v);
        count += 6;
        if (count >= 8) {
            count -= 8;
            decoded += static_cast<char>((bits >> count) & 0xffu);
        }
    }
    return decoded;
}

}  // namespace muster::emulator::detail
