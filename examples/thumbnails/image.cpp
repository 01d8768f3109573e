#include "image.hpp"

#include <signal.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <memory>
#include <mutex>
#include <sstream>
#include <vector>

#include <glib.h>
#include <vips/vips8>

#include "failure.hpp"

namespace thumbnails {

namespace {

/// The loaders this function accepts, by vips nickname, and the format each one reads.
/// Anything else (SVG, PDF, ImageMagick's dozens of formats) is refused before it runs.
constexpr std::pair<std::string_view, std::string_view> accepted_loaders[] = {
    {"jpegload_buffer", "jpeg"}, {"pngload_buffer", "png"},   {"webpload_buffer", "webp"},
    {"gifload_buffer", "gif"},   {"tiffload_buffer", "tiff"}, {"heifload_buffer", "heif"},
};

/// The vips error message, on one line, and the error buffer cleared (it is process-wide
/// and otherwise keeps every message).
std::string vips_message(const vips::VError& e) {
    std::string text = e.what();
    vips_error_clear();
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    std::replace(text.begin(), text.end(), '\n', ';');
    return text.empty() ? std::string("libvips gave no reason") : text;
}

struct blob_unref {
    void operator()(VipsBlob* b) const { vips_area_unref(reinterpret_cast<VipsArea*>(b)); }
};

struct g_free_deleter {
    void operator()(void* p) const { g_free(p); }
};

/// Bytes vips allocated, copied into a string and freed.
std::string take_buffer(void* data, std::size_t size) {
    std::unique_ptr<void, g_free_deleter> owned(data);
    return std::string(static_cast<const char*>(data), size);
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
            const double overlap = std::min(hi, static_cast<double>(s + 1)) -
                                   std::max(lo, static_cast<double>(s));
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

pixel_summary summarise_rgba(const std::uint8_t* px, int w, int h) {
    std::vector<float> luma(static_cast<std::size_t>(w) * static_cast<std::size_t>(h));
    double weight = 0, r = 0, g = 0, b = 0, plain_r = 0, plain_g = 0, plain_b = 0;
    for (std::size_t i = 0; i < luma.size(); ++i) {
        const std::uint8_t* p = px + 4 * i;
        const double a = p[3] / 255.0;
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
    s.dhash = dhash(luma_image{w, h, luma.data()});
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

std::optional<std::string> start_vips(const char* argv0) {
    static std::once_flag once;
    static std::optional<std::string> failure;
    std::call_once(once, [argv0] {
        if (VIPS_INIT(argv0 ? argv0 : "thumbnails") != 0) {
            failure = std::string("libvips failed to start: ") + vips_error_buffer();
            vips_error_clear();
            return;
        }
        // Images are processed in parallel across the CPU pool (or the process pool); one
        // vips worker per operation keeps the total at the pool's size.
        vips_concurrency_set(1);
        // Every image is seen once: caching operations only holds memory.
        vips_cache_set_max(0);
        vips_cache_set_max_mem(0);
        vips_cache_set_max_files(0);
        // Loaders vips itself marks as unsafe for untrusted input.
        vips_block_untrusted_set(TRUE);
        // libvips reports a damaged image through the error that fails its record; its
        // warnings, in glib's multi-line format on stderr, would only break the log into
        // pieces.
        g_log_set_handler(
            "VIPS",
            static_cast<GLogLevelFlags>(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE |
                                        G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG),
            [](const gchar*, GLogLevelFlags, const gchar*, gpointer) {}, nullptr);
    });
    return failure;
}

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
    if (auto failed = start_vips(nullptr)) throw record_error(reason::decode_failed, *failed);

    const char* loader = vips_foreign_find_load_buffer(image.data(), image.size());
    if (!loader) {
        vips_error_clear();
        throw record_error(reason::not_an_image, "not an image: no decoder recognises these " +
                                                     std::to_string(image.size()) + " bytes");
    }
    // vips names the loader's class (VipsForeignLoadJpegBuffer); its nickname
    // (jpegload_buffer) is the stable name.
    const char* nickname = vips_nickname_find(g_type_from_name(loader));
    const std::string_view name = nickname ? nickname : loader;
    const auto accepted = std::find_if(std::begin(accepted_loaders), std::end(accepted_loaders),
                                       [name](const auto& l) { return l.first == name; });
    if (accepted == std::end(accepted_loaders)) {
        throw record_error(reason::unsupported_format,
                           "unsupported image format (vips " + std::string(name) + ")");
    }
    thumbnail out;
    out.source_format = accepted->second;

    // The header alone: a lazy, sequential load decodes no pixel until asked, so a
    // decompression bomb is refused for what it declares, before it costs anything.
    try {
        const vips::VImage header = vips::VImage::new_from_buffer(
            image.data(), image.size(), "",
            vips::VImage::option()
                ->set("access", VIPS_ACCESS_SEQUENTIAL)
                ->set("fail_on", VIPS_FAIL_ON_ERROR));
        out.width = header.width();
        out.height = header.height();
    } catch (const vips::VError& e) {
        throw record_error(reason::corrupt,
                           "unreadable " + out.source_format + " header: " + vips_message(e));
    }
    const std::uint64_t pixels =
        static_cast<std::uint64_t>(out.width) * static_cast<std::uint64_t>(out.height);
    if (pixels > p.max_pixels) {
        throw record_error(reason::too_many_pixels,
                           std::to_string(out.width) + "x" + std::to_string(out.height) + " is " +
                               std::to_string(pixels) + " pixels, over the limit of " +
                               std::to_string(p.max_pixels) + " (THUMBNAILS_MAX_PIXELS)");
    }

    // Decode (shrinking on load where the format can) into memory, once: a sequential
    // source cannot be read twice. fail_on=error makes truncated or corrupt data an error
    // instead of an image padded with grey.
    vips::VImage small;
    try {
        std::unique_ptr<VipsBlob, blob_unref> blob(
            vips_blob_new(nullptr, image.data(), image.size()));
        small = vips::VImage::thumbnail_buffer(blob.get(), p.size,
                                               vips::VImage::option()
                                                   ->set("height", p.size)
                                                   ->set("size", VIPS_SIZE_DOWN)
                                                   // libvips 8.14 does not hand thumbnail's own
                                                   // fail_on to the loader; this reaches it.
                                                   ->set("option_string", "fail_on=error"))
                    .copy_memory();
    } catch (const vips::VError& e) {
        throw record_error(reason::corrupt,
                           "truncated or corrupt " + out.source_format + ": " + vips_message(e));
    }

    try {
        const bool alpha = small.has_alpha();
        vips::VImage srgb = small.colourspace(VIPS_INTERPRETATION_sRGB);
        if (srgb.format() != VIPS_FORMAT_UCHAR) srgb = srgb.cast(VIPS_FORMAT_UCHAR);
        vips::VImage rgba;
        if (srgb.bands() == 3) {
            rgba = srgb.bandjoin_const({255});
        } else if (srgb.bands() >= 4) {
            rgba = srgb.extract_band(0, vips::VImage::option()->set("n", 4));
        } else {
            throw record_error(reason::decode_failed,
                               "unexpected " + std::to_string(srgb.bands()) + "-band image");
        }
        rgba = rgba.copy_memory();
        out.thumb_width = rgba.width();
        out.thumb_height = rgba.height();

        std::size_t size = 0;
        std::unique_ptr<void, g_free_deleter> memory(rgba.write_to_memory(&size));
        const auto summary = summarise_rgba(static_cast<const std::uint8_t*>(memory.get()),
                                            rgba.width(), rgba.height());
        out.dhash = summary.dhash;
        out.average_color = summary.average;

        vips::VImage encoded = alpha ? rgba : rgba.extract_band(0, vips::VImage::option()->set("n", 3));
        void* buffer = nullptr;
        std::size_t length = 0;
        switch (p.format) {
            case output_format::jpeg:
                if (alpha) {
                    encoded = rgba.flatten(vips::VImage::option()->set(
                                               "background", std::vector<double>{255, 255, 255}))
                                  .cast(VIPS_FORMAT_UCHAR);
                }
                encoded.write_to_buffer(
                    ".jpg", &buffer, &length,
                    vips::VImage::option()->set("Q", 80)->set("strip", true));
                break;
            case output_format::webp:
                encoded.write_to_buffer(
                    ".webp", &buffer, &length,
                    vips::VImage::option()->set("Q", 80)->set("strip", true));
                break;
            case output_format::png:
                encoded.write_to_buffer(
                    ".png", &buffer, &length,
                    vips::VImage::option()->set("compression", 6)->set("strip", true));
                break;
        }
        out.bytes = take_buffer(buffer, length);
    } catch (const vips::VError& e) {
        throw record_error(reason::decode_failed, "cannot make the thumbnail: " + vips_message(e));
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
                      std::string(to_string(p.format)) + ' ' +
                      std::to_string(crash_marker.size()) + '\n';
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
    p.format = format == "png" ? output_format::png
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
