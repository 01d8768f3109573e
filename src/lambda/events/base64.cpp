#include <muster/lambda/events/base64.hpp>

#include <array>
#include <cstdint>
#include <stdexcept>

namespace muster::lambda {

namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_table() {
    std::array<std::int8_t, 256> t{};
    for (auto& v : t) v = -1;
    for (std::size_t i = 0; i < alphabet.size(); ++i)
        t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return t;
}

constexpr auto table = make_table();

[[noreturn]] void invalid(std::string what) {
    throw std::invalid_argument("muster::lambda::base64_decode: " + what);
}

}  // namespace

std::string base64_decode(std::string_view text) {
    std::size_t n = text.size();
    std::size_t pad = 0;
    while (n > 0 && text[n - 1] == '=' && pad < 2) {
        --n;
        ++pad;
    }
    if (pad > 0 && text.size() % 4 != 0)
        invalid("padded input whose length is not a multiple of 4");
    if (n % 4 == 1) invalid("a length no encoder produces (" + std::to_string(text.size()) + ")");
    std::string out;
    out.reserve(n / 4 * 3 + 2);
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const auto v = table[static_cast<unsigned char>(text[i])];
        if (v < 0) invalid("not a base64 character at offset " + std::to_string(i));
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xFF));
        }
    }
    return out;
}

std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t v = (std::uint32_t(static_cast<unsigned char>(bytes[i])) << 16) |
                                (std::uint32_t(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                                std::uint32_t(static_cast<unsigned char>(bytes[i + 2]));
        out.push_back(alphabet[(v >> 18) & 63]);
        out.push_back(alphabet[(v >> 12) & 63]);
        out.push_back(alphabet[(v >> 6) & 63]);
        out.push_back(alphabet[v & 63]);
    }
    if (const auto rest = bytes.size() - i; rest > 0) {
        std::uint32_t v = std::uint32_t(static_cast<unsigned char>(bytes[i])) << 16;
        if (rest == 2) v |= std::uint32_t(static_cast<unsigned char>(bytes[i + 1])) << 8;
        out.push_back(alphabet[(v >> 18) & 63]);
        out.push_back(alphabet[(v >> 12) & 63]);
        out.push_back(rest == 2 ? alphabet[(v >> 6) & 63] : '=');
        out.push_back('=');
    }
    return out;
}

}  // namespace muster::lambda
