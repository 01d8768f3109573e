// Content-Encoding decoding (gzip, deflate, raw deflate) with a size limit,
// whole and piece by piece. Input: one byte choosing the encoding and the
// piece size, then the encoded body.
#include "decode.hpp"

#include <muster/http/error.hpp>

#include <string>

#include "fuzz_check.hpp"

using muster_fuzz::check;
namespace detail = muster::http::detail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    static constexpr std::string_view encodings[] = {"gzip", "deflate", "x-gzip", "identity"};
    const auto encoding = encodings[data[0] & 3];
    const std::size_t piece = std::size_t{1} + (data[0] >> 2);
    const auto body = muster_fuzz::text(data + 1, size - 1);
    constexpr std::size_t limit = 1 << 20;

    std::string whole;
    bool whole_ok = true;
    try {
        whole = detail::decode_content(encoding, std::string(body), limit, "fuzz", "http://h/");
        check(whole.size() <= limit || encoding == "identity", "decoded past the limit");
    } catch (const muster::http::error&) {
        whole_ok = false;
    }

    // The streaming decoder agrees with the whole-body one.
    if (!detail::decodable(encoding)) return 0;
    std::string streamed;
    bool streamed_ok = true;
    try {
        detail::decoder d(encoding, limit, "fuzz", "http://h/");
        for (std::size_t at = 0; at < body.size(); at += piece) {
            d.feed(body.substr(at, piece), [&](std::string_view out) {
                check(out.size() <= 64 * 1024, "a piece over 64 KiB");
                streamed.append(out);
            });
        }
        d.finish();
    } catch (const muster::http::error&) {
        streamed_ok = false;
    }
    check(streamed_ok == whole_ok, "streamed and whole decoding disagree on success");
    if (whole_ok) check(streamed == whole, "streamed and whole decoding disagree on the bytes");
    return 0;
}
