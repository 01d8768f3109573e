#include "decode.hpp"

#include <array>

#include <zlib.h>

#include <muster/http/error.hpp>
#include <muster/http/headers.hpp>

namespace muster::http::detail {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool is_gzip(std::string_view encoding) noexcept {
    return iequals(encoding, "gzip") || iequals(encoding, "x-gzip");
}

/// A zlib (RFC 1950) header: deflate method, a window zlib accepts, and the
/// check bits. Anything else sent as "deflate" is taken for raw deflate.
bool zlib_header(unsigned char cmf, unsigned char flg) noexcept {
    return (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && ((cmf << 8) | flg) % 31 == 0;
}

}  // namespace

bool decodable(std::string_view encoding) noexcept {
    encoding = trim(encoding);
    return is_gzip(encoding) || iequals(encoding, "deflate");
}

struct decoder::impl {
    bool gzip = false;
    bool started = false;  ///< inflateInit2 was called.
    bool ended = false;    ///< Z_STREAM_END was seen.
    std::string pending;   ///< "deflate" bytes held until the first two tell zlib from raw.
    std::uint64_t produced = 0;
    std::uint64_t limit = 0;
    std::string what;
    std::string url;
    z_stream zs{};

    ~impl() {
        if (started) inflateEnd(&zs);
    }

    [[noreturn]] void fail(error_kind kind, const std::string& why) const {
        throw error(kind, url, what + why);
    }

    void start(int window_bits) {
        // inflateInit2, without the macro's C-style cast.
        if (inflateInit2_(&zs, window_bits, ZLIB_VERSION, static_cast<int>(sizeof(z_stream))) !=
            Z_OK)
            fail(error_kind::protocol, "cannot initialise zlib");
        started = true;
    }

    void inflate_some(std::string_view in, const std::function<void(std::string_view)>& out) {
        if (ended) {
            if (!in.empty())
                fail(error_kind::protocol, "data after the end of the compressed body");
            return;
        }
        zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        zs.avail_in = static_cast<uInt>(in.size());
        std::array<char, 64 * 1024> buffer;
        do {
            zs.next_out = reinterpret_cast<Bytef*>(buffer.data());
            zs.avail_out = static_cast<uInt>(buffer.size());
            const int ret = inflate(&zs, Z_NO_FLUSH);
            const std::size_t n = buffer.size() - zs.avail_out;
            if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR) {
                fail(error_kind::protocol,
                     std::string(gzip ? "the body is not valid gzip data: "
                                      : "the body is not valid deflate data: ") +
                         (zs.msg ? zs.msg : "error " + std::to_string(ret)));
            }
            produced += n;
            if (produced > limit)
                fail(error_kind::body_too_large, "the decoded body is larger than the limit");
            if (n > 0) out(std::string_view(buffer.data(), n));
            if (ret == Z_STREAM_END) {
                ended = true;
                if (zs.avail_in != 0)
                    fail(error_kind::protocol, "data after the end of the compressed body");
                return;
            }
            if (ret == Z_BUF_ERROR) return;  // needs more input
        } while (zs.avail_in != 0 || zs.avail_out == 0);
    }
};

decoder::decoder(std::string_view encoding, std::uint64_t limit, std::string what, std::string url)
    : impl_(std::make_unique<impl>()) {
    impl_->gzip = is_gzip(trim(encoding));
    impl_->limit = limit;
    impl_->what = std::move(what);
    impl_->url = std::move(url);
    if (impl_->gzip) impl_->start(15 + 16);
}

decoder::~decoder() = default;

void decoder::feed(std::string_view in, const std::function<void(std::string_view)>& out) {
    impl& d = *impl_;
    if (!d.started) {
        // "deflate": zlib-wrapped or raw, told apart by the first two bytes.
        d.pending.append(in);
        if (d.pending.size() < 2) return;
        const auto* b = reinterpret_cast<const unsigned char*>(d.pending.data());
        d.start(zlib_header(b[0], b[1]) ? 15 : -15);
        const std::string held = std::move(d.pending);
        d.inflate_some(held, out);
        return;
    }
    d.inflate_some(in, out);
}

void decoder::finish() {
    impl& d = *impl_;
    if (!d.started && d.pending.empty()) return;  // an empty body
    if (!d.started) d.fail(error_kind::protocol, "the body is not valid deflate data");
    if (d.produced == 0 && !d.ended && d.zs.total_in == 0) return;
    if (!d.ended) d.fail(error_kind::protocol, "the compressed body is truncated");
}

std::string decode_content(std::string_view encoding, std::string body, std::size_t limit,
                           const std::string& what, const std::string& url) {
    if (!decodable(encoding) || body.empty()) return body;
    decoder d(encoding, limit, what, url);
    std::string out;
    d.feed(body, [&out](std::string_view piece) { out.append(piece); });
    d.finish();
    return out;
}

}  // namespace muster::http::detail
