#include "image.hpp"

#include <signal.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "failure.hpp"
#include "jpeg.hpp"
#include "orientation.hpp"
#include "png.hpp"
#include "resize.hpp"
#include "webp.hpp"

namespace thumbnails {

namespace {

/// The formats this function decodes, and those it recognises only to refuse them by name.
enum class source_kind { jpeg, png, webp, refused, unknown };

struct sniffed {
    source_kind kind = source_kind::unknown;
    std::string_view name;  ///< for `refused`: the format's name
};

/// The format from the first bytes (its signature), never from a name or a content type.
sniffed sniff(std::string_view b) {
    const auto starts = [b](std::string_view magic, std::size_t at = 0) {
        return b.size() >= at + magic.size() && b.substr(at, magic.size()) == magic;
    };
    if (starts("\xff\xd8\xff")) return {source_kind::jpeg, "jpeg"};
    if (starts("\x89PNG\r\n\x1a\n")) return {source_kind::png, "png"};
    if (starts("RIFF") && starts("WEBP", 8)) return {source_kind::webp, "webp"};
    if (starts("GIF87a") || starts("GIF89a")) return {source_kind::refused, "gif"};
    if (starts(std::string_view("II*\0", 4)) || starts(std::string_view("MM\0*", 4))) {
        return {source_kind::refused, "tiff"};
    }
    if (starts("ftyp", 4)) {
        for (std::string_view brand :
             {"heic", "heix", "hevc", "heim", "heis", "mif1", "msf1", "avif", "avis"}) {
            if (starts(brand, 8))
                return {source_kind::refused, brand.substr(0, 2) == "av" ? "avif" : "heif"};
        }
    }
    // "BM", the file size, then two reserved words that are zero.
    if (starts("BM") && starts(std::string_view("\0\0\0\0", 4), 6)) {
        return {source_kind::refused, "bmp"};
    }
    if (starts("%PDF")) return {source_kind::refused, "pdf"};
    if (starts("<svg") || starts("<?xml")) return {source_kind::refused, "svg or xml"};
    return {};
}

/// The thumbnail's dimensions: `width` x `height` fitted in a `size` square, never enlarged.
std::pair<int, int> fit(int width, int height, int size) {
    const int longest = std::max(width, height);
    if (longest <= size) return {width, height};
    const auto scaled = [&](int edge) {
        return std::max(1,
                        static_cast<int>(std::lround(static_cast<double>(edge) * size / longest)));
    };
    return width >= height ? std::pair{size, scaled(height)} : std::pair{scaled(width), size};
}

/// 1-D area average of `n` samples (stride `stride`) down or up to `m` cells.
void resample(const double* in, std::size_t n, std::size_t stride, double* out, std::size_t m,
              std::size_t out_stride) {
    const double scale = static_cast<double>(n) / static_cast<double>(m);
    for (std::size_t d = 0; d < m; ++d) {
        const double lo = static_cast<double>(d) * scale;
        const double hi = lo + scale;
        double sum = 0;
        for (auto s = static_cast<std::size_t>(lo); s < n && static_cast<double>(s) < hi; ++s) {
            const double overlap =
                std::min(hi, static_cast<double>(s + 1)) - std::max(lo, static_cast<double>(s));
            if (overlap > 0) sum += overlap * in[s * stride];
        }
        out[d * out_stride] = sum / scale;
    }
}

/// Luma and mean colour of an RGBA (8-bit, sRGB) image held in memory.
struct pixel_summary {
    std::uint64_t dhash = 0;
    rgb average;
};

pixel_summary summarise(const raster& image) {
    const std::uint8_t* px = image.pixels.data();
    const auto channels = static_cast<std::size_t>(image.channels);
    std::vector<float> luma(static_cast<std::size_t>(image.width) *
                            static_cast<std::size_t>(image.height));
    double weight = 0, r = 0, g = 0, b = 0, plain_r = 0, plain_g = 0, plain_b = 0;
    for (std::size_t i = 0; i < luma.size(); ++i) {
        const std::uint8_t* p = px + channels * i;
        const double a = channels == 4 ? p[3] / 255.0 : 1.0;
        weight += a;
        r += a * p[0];
        g += a * p[1];
        b += a * p[2];
        plain_r += p[0];
        plain_g += p[1];
        plain_b += p[2];
        const double y = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
        // As seen on white: transparent areas count as white.
        luma[i] = static_cast<float>(a * y + (1 - a) * 255.0);
    }
    pixel_summary s;
    s.dhash = dhash(luma_image{image.width, image.height, luma.data()});
    const auto channel = [](double v) {
        return static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L));
    };
    const double n = static_cast<double>(luma.size());
    if (weight > 0) {
        s.average = {channel(r / weight), channel(g / weight), channel(b / weight)};
    } else {
        s.average = {channel(plain_r / n), channel(plain_g / n), channel(plain_b / n)};
    }
    return s;
}

}  // namespace

std::string to_hex(rgb c) {
    char text[8];
    std::snprintf(text, sizeof text, "#%02x%02x%02x", c.r, c.g, c.b);
    return text;
}

std::uint64_t dhash(const luma_image& image) {
    const auto w = static_cast<std::size_t>(image.width);
    const auto h = static_cast<std::size_t>(image.height);
    std::vector<double> source(image.pixels, image.pixels + w * h);
    // Columns first (w -> 9 per row), then rows (h -> 8 per column).
    std::vector<double> narrow(9 * h);
    for (std::size_t y = 0; y < h; ++y) {
        resample(source.data() + y * w, w, 1, narrow.data() + y * 9, 9, 1);
    }
    std::vector<double> cells(9 * 8);
    for (std::size_t x = 0; x < 9; ++x) resample(narrow.data() + x, h, 9, cells.data() + x, 8, 9);
    std::uint64_t hash = 0;
    for (std::size_t y = 0; y < 8; ++y) {
        for (std::size_t x = 0; x < 8; ++x) {
            // Equal cells must compare equal whatever the rounding of the averages.
            constexpr double epsilon = 1e-3;
            hash = (hash << 1) | (cells[y * 9 + x + 1] > cells[y * 9 + x] + epsilon ? 1u : 0u);
        }
    }
    return hash;
}

int hamming(std::uint64_t a, std::uint64_t b) noexcept { return std::popcount(a ^ b); }

std::string hash_hex(std::uint64_t hash) {
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
    return text;
}

thumbnail make_thumbnail(std::string_view image, const thumbnail_params& p) {
    const sniffed format = sniff(image);
    if (format.kind == source_kind::unknown) {
        throw record_error(reason::not_an_image, "not an image: no decoder recognises these " +
                                                     std::to_string(image.size()) + " bytes");
    }
    if (format.kind == source_kind::refused) {
        throw record_error(reason::unsupported_format,
                           "unsupported image format " + std::string(format.name) +
                               " (this function decodes jpeg, png and webp)");
    }
    thumbnail out;
    out.source_format = format.name;

    // Every decoder calls this between its header and its first pixel: a decompression bomb
    // is refused for what it declares, before it costs anything.
    const header_check check = [&out, &p](int width, int height) {
        out.width = width;
        out.height = height;
        const std::uint64_t pixels =
            static_cast<std::uint64_t>(width) * static_cast<std::uint64_t>(height);
        if (pixels > p.max_pixels) {
            throw record_error(reason::too_many_pixels,
                               std::to_string(width) + "x" + std::to_string(height) + " is " +
                                   std::to_string(pixels) + " pixels, over the limit of " +
                                   std::to_string(p.max_pixels) + " (THUMBNAILS_MAX_PIXELS)");
        }
    };
    decoded_image decoded;
    switch (format.kind) {
        case source_kind::jpeg:
            decoded = decode_jpeg(image, p.size, check);
            break;
        case source_kind::png:
            decoded = decode_png(image, check);
            break;
        default:
            decoded = decode_webp(image, check);
            break;
    }
    if (decoded.pixels.width < 1 || decoded.pixels.height < 1) {
        throw record_error(reason::corrupt, "the " + out.source_format + " has no pixels");
    }

    // Fitted from the header's dimensions (a JPEG may have been decoded smaller), and turned
    // upright after resizing, on the fewest pixels: a square box fits both ways round.
    const auto [w, h] = fit(out.width, out.height, p.size);
    raster small = apply_orientation(resize(std::move(decoded.pixels), w, h), decoded.orientation);
    out.thumb_width = small.width;
    out.thumb_height = small.height;
    const pixel_summary summary = summarise(small);
    out.dhash = summary.dhash;
    out.average_color = summary.average;

    switch (p.format) {
        case output_format::jpeg:
            out.bytes = encode_jpeg(small, 80);
            break;
        case output_format::webp:
            out.bytes = encode_webp(small, 80);
            break;
        case output_format::png:
            out.bytes = encode_png(small);
            break;
    }
    return out;
}

// ---- the process-pool form ------------------------------------------------
//
// Request:  "<max_pixels> <size> <format> <marker length>\n" <marker> <image>
// Response: "O<width> <height> <thumb width> <thumb height> <dhash> <r> <g> <b> <format>\n"
//           <thumbnail>, or "E<reason code>\n" <message>.

namespace {

[[noreturn]] void bad_frame(const char* what) {
    throw std::invalid_argument(std::string("thumbnail work: malformed ") + what);
}

std::optional<reason> reason_of(std::string_view code) {
    for (int i = 0; i <= static_cast<int>(reason::internal); ++i) {
        const auto r = static_cast<reason>(i);
        if (to_string(r) == code) return r;
    }
    return std::nullopt;
}

}  // namespace

std::string encode_request(const thumbnail_params& p, std::string_view crash_marker,
                           std::string_view image) {
    std::string out = std::to_string(p.max_pixels) + ' ' + std::to_string(p.size) + ' ' +
                      std::string(to_string(p.format)) + ' ' + std::to_string(crash_marker.size()) +
                      '\n';
    out.reserve(out.size() + crash_marker.size() + image.size());
    out += crash_marker;
    out += image;
    return out;
}

std::string thumbnail_work(std::string_view request) {
    const auto eol = request.find('\n');
    if (eol == std::string_view::npos) bad_frame("request");
    std::istringstream header{std::string(request.substr(0, eol))};
    thumbnail_params p;
    std::string format;
    std::size_t marker_size = 0;
    if (!(header >> p.max_pixels >> p.size >> format >> marker_size)) bad_frame("request header");
    p.format = format == "png"    ? output_format::png
               : format == "webp" ? output_format::webp
                                  : output_format::jpeg;
    std::string_view rest = request.substr(eol + 1);
    if (rest.size() < marker_size) bad_frame("request marker");
    const std::string_view marker = rest.substr(0, marker_size);
    const std::string_view image = rest.substr(marker_size);

    if (!marker.empty() && image.find(marker) != std::string_view::npos) {
        // The demo's poison image: a decoder bug, simulated, which in a thread would take the
        // whole function down.
        ::raise(SIGSEGV);
    }
    try {
        thumbnail t = make_thumbnail(image, p);
        std::string out = 'O' + std::to_string(t.width) + ' ' + std::to_string(t.height) + ' ' +
                          std::to_string(t.thumb_width) + ' ' + std::to_string(t.thumb_height) +
                          ' ' + std::to_string(t.dhash) + ' ' + std::to_string(t.average_color.r) +
                          ' ' + std::to_string(t.average_color.g) + ' ' +
                          std::to_string(t.average_color.b) + ' ' + t.source_format + '\n';
        out += t.bytes;
        return out;
    } catch (const record_error& e) {
        return 'E' + std::string(to_string(e.reason())) + '\n' + e.what();
    }
}

thumbnail decode_response(std::string_view response) {
    const auto eol = response.find('\n');
    if (response.empty() || eol == std::string_view::npos) bad_frame("response");
    if (response.front() == 'E') {
        const auto r = reason_of(response.substr(1, eol - 1)).value_or(reason::decode_failed);
        throw record_error(r, std::string(response.substr(eol + 1)));
    }
    if (response.front() != 'O') bad_frame("response");
    std::istringstream header{std::string(response.substr(1, eol - 1))};
    thumbnail t;
    unsigned r = 0, g = 0, b = 0;
    if (!(header >> t.width >> t.height >> t.thumb_width >> t.thumb_height >> t.dhash >> r >> g >>
          b >> t.source_format)) {
        bad_frame("response header");
    }
    t.average_color = {static_cast<std::uint8_t>(r), static_cast<std::uint8_t>(g),
                       static_cast<std::uint8_t>(b)};
    t.bytes = std::string(response.substr(eol + 1));
    return t;
}

}  // namespace thumbnails
