#include "decode.hpp"

#include <zlib.h>

#include <muster/http/error.hpp>
#include <muster/http/headers.hpp>

namespace muster::http::detail {

namespace {

/// Inflates `in` with `window_bits`; false (and nothing thrown) when the very
/// first call finds no valid header, so the caller can try raw deflate.
bool inflate_all(const std::string& in, int window_bits, std::size_t limit, std::string& out,
                 const std::string& what, const std::string& url) {
    z_stream zs{};
    // inflateInit2, without the macro's C-style cast.
    if (inflateInit2_(&zs, window_bits, ZLIB_VERSION, static_cast<int>(sizeof(z_stream))) != Z_OK)
        throw error(error_kind::protocol, url, what + "cannot initialise zlib");
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    out.clear();
    constexpr std::size_t step = 64 * 1024;
    int ret = Z_OK;
    bool first = true;
    while (ret != Z_STREAM_END) {
        const std::size_t used = out.size();
        out.resize(used + step);
        zs.next_out = reinterpret_cast<Bytef*>(out.data() + used);
        zs.avail_out = static_cast<uInt>(step);
        ret = inflate(&zs, Z_NO_FLUSH);
        out.resize(used + (step - zs.avail_out));
        if (ret == Z_DATA_ERROR && first && out.empty()) {
            inflateEnd(&zs);
            return false;
        }
        first = false;
        if (out.size() > limit) {
            inflateEnd(&zs);
            throw error(error_kind::body_too_large, url,
                        what + "the decoded body is larger than max_body_size");
        }
        if (ret == Z_STREAM_END) break;
        if (ret == Z_BUF_ERROR && zs.avail_in == 0) {
            inflateEnd(&zs);
            throw error(error_kind::protocol, url, what + "the compressed body is truncated");
        }
        if (ret != Z_OK && ret != Z_BUF_ERROR) {
            const std::string msg = zs.msg ? zs.msg : "error " + std::to_string(ret);
            inflateEnd(&zs);
            throw error(error_kind::protocol, url, what + "cannot decode the body: " + msg);
        }
    }
    inflateEnd(&zs);
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

std::string decode_content(std::string_view encoding, std::string body, std::size_t limit,
                           const std::string& what, const std::string& url) {
    encoding = trim(encoding);
    std::string out;
    if (iequals(encoding, "gzip") || iequals(encoding, "x-gzip")) {
        if (body.empty()) return body;
        if (!inflate_all(body, 15 + 16, limit, out, what, url))
            throw error(error_kind::protocol, url, what + "the body is not valid gzip data");
        return out;
    }
    if (iequals(encoding, "deflate")) {
        if (body.empty()) return body;
        // "deflate" means zlib-wrapped, but some servers send raw deflate.
        if (inflate_all(body, 15, limit, out, what, url)) return out;
        if (!inflate_all(body, -15, limit, out, what, url))
            throw error(error_kind::protocol, url, what + "the body is not valid deflate data");
        return out;
    }
    return body;
}

}  // namespace muster::http::detail
