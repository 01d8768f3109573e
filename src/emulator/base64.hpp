#pragma once

// Base64 as the emulator reads it from clients and functions: the invoke
// route's `X-Amz-Client-Context`, a streamed response's
// `Lambda-Runtime-Function-Error-Body` trailer.

#include <boost/beast/core/detail/base64.hpp>

#include <string>
#include <string_view>

namespace muster::emulator::detail {

/// `encoded` decoded, up to its first character that is not base64
/// (padding included). Unpadded text decodes whole.
inline std::string decode_base64(std::string_view encoded) {
    // Beast's decoded_size(n) is n / 4 * 3, too small for text whose length
    // is no multiple of 4 (decode writes up to 2 more bytes): round up.
    std::string decoded((encoded.size() + 3) / 4 * 3, '\0');
    auto [written, used] =
        boost::beast::detail::base64::decode(decoded.data(), encoded.data(), encoded.size());
    decoded.resize(written);
    return decoded;
}

}  // namespace muster::emulator::detail
