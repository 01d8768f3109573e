// thumbnails_samples: the thumbnail demo's input images, and what should become of each.
//
//   thumbnails_samples --out DIR [--count N] [--seed S] [--crash-marker TEXT] [--jobs J]
//
// Writes N varied images into DIR/images/ (JPEG, PNG and WebP; from a few
// hundred pixels a side up to about four megapixels; gradients, shapes,
// stripes and noise drawn from the seed), then the bad cases the pipeline must
// fail one at a time, then DIR/manifest.json (see manifest_text below). The
// same seed writes the same bytes, whatever the number of jobs.
//
// Exit codes: 0 written, 2 bad usage, 1 anything else (the reason on stderr).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <zlib.h>
#include <CLI/CLI.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <vips/vips8>

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

/// Manifest format; a reader that finds another value must not trust the rest.
constexpr std::string_view manifest_format = "muster-thumbnails-samples/1";
constexpr std::string_view default_crash_marker = "MUSTER-THUMBNAILS-CRASH-MARKER";

/// splitmix64: tiny, fast, and the same sequence everywhere (unlike
/// std::uniform_int_distribution, whose output the standard leaves open).
class rng {
  public:
    explicit rng(std::uint64_t seed) : state_(seed) {}

    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    /// In [0, 1).
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    /// In [lo, hi].
    int between(int lo, int hi) {
        return lo + static_cast<int>(next() % static_cast<std::uint64_t>(hi - lo + 1));
    }
    bool chance(double p) { return uniform() < p; }

  private:
    std::uint64_t state_;
};

enum class format { jpeg, png, webp };

std::string_view extension(format f) {
    switch (f) {
        case format::jpeg:
            return "jpg";
        case format::png:
            return "png";
        case format::webp:
            return "webp";
    }
    return "";
}

std::string_view kind_name(format f) {
    switch (f) {
        case format::jpeg:
            return "jpeg";
        case format::png:
            return "png";
        case format::webp:
            return "webp";
    }
    return "";
}

/// 8-bit pixels, interleaved: 1 band (grey), 3 (RGB) or 4 (RGBA).
struct picture {
    int width = 0;
    int height = 0;
    int bands = 3;
    std::vector<std::uint8_t> pixels;

    std::uint8_t* at(int x, int y) {
        return pixels.data() + (static_cast<std::size_t>(y) * static_cast<std::size_t>(width) +
                                static_cast<std::size_t>(x)) *
                                   static_cast<std::size_t>(bands);
    }
};

std::uint8_t clamp_byte(double v) {
    return static_cast<std::uint8_t>(std::clamp(v + 0.5, 0.0, 255.0));
}

struct colour {
    double c[3];
};

colour random_colour(rng& r) { return {{r.uniform(0, 255), r.uniform(0, 255), r.uniform(0, 255)}}; }

// Only + - * / and sqrt below (all correctly rounded), never sin or exp:
// the bytes must not depend on the maths library.

void draw_gradient(rng& r, picture& p) {
    const colour from = random_colour(r);
    const colour to = random_colour(r);
    const int colour_bands = p.bands == 4 ? 3 : p.bands;
    // The colour at each of 1024 steps from `from` to `to`: a lookup per pixel, not arithmetic.
    constexpr int steps = 1024;
    std::uint8_t ramp[steps][3];
    for (int i = 0; i < steps; ++i) {
        for (int b = 0; b < 3; ++b) {
            ramp[i][b] = clamp_byte(from.c[b] + (to.c[b] - from.c[b]) * i / (steps - 1));
        }
    }
    const bool radial = r.chance(0.35);
    const double cx = r.uniform(0, p.width);
    const double cy = r.uniform(0, p.height);
    double dx = r.between(-100, 100);
    double dy = r.between(-100, 100);
    const double length = std::sqrt(dx * dx + dy * dy);
    dx = length > 0 ? dx / length : 1.0;
    dy = length > 0 ? dy / length : 0.0;
    const double reach = std::sqrt(static_cast<double>(p.width) * p.width +
                                   static_cast<double>(p.height) * p.height);
    const double scale = (steps - 1) / reach;
    for (int y = 0; y < p.height; ++y) {
        std::uint8_t* px = p.at(0, y);
        const double ey = y - cy;
        for (int x = 0; x < p.width; ++x, px += p.bands) {
            const double ex = x - cx;
            const double t = radial ? std::sqrt(ex * ex + ey * ey) * scale
                                    : (steps - 1) / 2.0 + (ex * dx + ey * dy) * scale;
            const int step = t <= 0 ? 0 : t >= steps - 1 ? steps - 1 : static_cast<int>(t);
            for (int b = 0; b < colour_bands; ++b) {
                px[b] = ramp[step][b];
            }
            if (p.bands == 4) {
                px[3] = 255;
            }
        }
    }
}

/// Blends `c` at opacity `a` into the pixel (colour bands only).
void blend(std::uint8_t* px, int colour_bands, const colour& c, double a) {
    for (int b = 0; b < colour_bands; ++b) {
        px[b] = clamp_byte(px[b] * (1 - a) + c.c[b] * a);
    }
}

void draw_shapes(rng& r, picture& p) {
    const int colour_bands = p.bands == 4 ? 3 : p.bands;
    const int shapes = r.between(0, 12);
    const int side = std::min(p.width, p.height);
    for (int i = 0; i < shapes; ++i) {
        const colour c = random_colour(r);
        const double opacity = r.uniform(0.5, 1.0);
        const int size = std::max(2, static_cast<int>(side * r.uniform(0.05, 0.4)));
        const int x0 = r.between(-size / 2, p.width - size / 2);
        const int y0 = r.between(-size / 2, p.height - size / 2);
        const bool circle = r.chance(0.5);
        const int w = circle ? size : std::max(2, static_cast<int>(size * r.uniform(0.3, 2.0)));
        const double radius = size / 2.0;
        for (int y = std::max(0, y0); y < std::min(p.height, y0 + size); ++y) {
            for (int x = std::max(0, x0); x < std::min(p.width, x0 + w); ++x) {
                if (circle) {
                    const double ex = x - x0 - radius;
                    const double ey = y - y0 - radius;
                    if (ex * ex + ey * ey > radius * radius) {
                        continue;
                    }
                }
                blend(p.at(x, y), colour_bands, c, opacity);
            }
        }
    }
}

void draw_stripes(rng& r, picture& p) {
    const int colour_bands = p.bands == 4 ? 3 : p.bands;
    const int period = r.between(8, 64);
    const int slant = r.between(-2, 2);
    for (int y = 0; y < p.height; ++y) {
        std::uint8_t* px = p.at(0, y);
        for (int x = 0; x < p.width; ++x, px += p.bands) {
            const int phase = (x + slant * y) / period;
            if (phase % 2 != 0) {
                for (int b = 0; b < colour_bands; ++b) {
                    px[b] = static_cast<std::uint8_t>(px[b] * 7 / 8);
                }
            }
        }
    }
}

/// Adds noise in [-2^bits / 2, 2^bits / 2) to every colour sample; 0 bits adds none.
void draw_noise(rng& r, picture& p, int bits) {
    if (bits == 0) {
        return;
    }
    const std::uint64_t mask = (std::uint64_t{1} << bits) - 1;
    const int offset = 1 << (bits - 1);
    const int colour_bands = p.bands == 4 ? 3 : p.bands;
    for (int y = 0; y < p.height; ++y) {
        std::uint8_t* px = p.at(0, y);
        for (int x = 0; x < p.width; ++x, px += p.bands) {
            std::uint64_t random = r.next();
            for (int b = 0; b < colour_bands; ++b, random >>= 8) {
                const int v = px[b] + static_cast<int>(random & mask) - offset;
                px[b] = static_cast<std::uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
    }
}

/// A translucent vignette for images with alpha.
void draw_alpha(rng& r, picture& p) {
    if (p.bands != 4 || r.chance(0.3)) {
        return;
    }
    const double cx = p.width / 2.0;
    const double cy = p.height / 2.0;
    const double reach = std::sqrt(cx * cx + cy * cy);
    for (int y = 0; y < p.height; ++y) {
        for (int x = 0; x < p.width; ++x) {
            const double ex = x - cx;
            const double ey = y - cy;
            p.at(x, y)[3] = clamp_byte(255 - 200 * std::sqrt(ex * ex + ey * ey) / reach);
        }
    }
}

/// Copies a libvips blob into a string and releases it.
std::string take_blob(VipsBlob* blob) {
    std::size_t size = 0;
    const void* data = vips_blob_get(blob, &size);
    std::string bytes(static_cast<const char*>(data), size);
    vips_area_unref(VIPS_AREA(blob));
    return bytes;
}

std::string encode(picture& p, format f, rng& r) {
    vips::VImage image = vips::VImage::new_from_memory(p.pixels.data(), p.pixels.size(), p.width,
                                                       p.height, p.bands, VIPS_FORMAT_UCHAR);
    switch (f) {
        case format::jpeg:
            return take_blob(image.jpegsave_buffer(vips::VImage::option()
                                                       ->set("Q", r.between(70, 92))
                                                       ->set("interlace", r.chance(0.15))
                                                       ->set("strip", true)));
        case format::png:
            return take_blob(image.pngsave_buffer(vips::VImage::option()
                                                      ->set("compression", 1)
                                                      ->set("interlace", r.chance(0.1))
                                                      ->set("strip", true)));
        case format::webp:
            return take_blob(image.webpsave_buffer(vips::VImage::option()
                                                       ->set("Q", r.between(60, 90))
                                                       ->set("effort", 0)
                                                       ->set("strip", true)));
    }
    throw std::logic_error("unknown format");
}

void write_file(const fs::path& path, std::string_view bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
        throw std::runtime_error("cannot write " + path.string());
    }
}

/// One entry of the manifest.
struct item {
    std::string path;  ///< the URL path the origin serves it under
    std::string file;  ///< relative to the output directory; empty when there is no file
    std::string kind;
    bool ok = true;
    std::string reason;  ///< the expected reason word when not ok
    int width = 0;       ///< 0 when it has no meaningful size
    int height = 0;
    std::size_t bytes = 0;
    std::string note;
};

json::object to_json(const item& i) {
    json::object o;
    o["path"] = i.path;
    o["file"] = i.file.empty() ? json::value(nullptr) : json::value(i.file);
    o["kind"] = i.kind;
    o["expected"] = i.ok ? "ok" : "failed";
    o["reason"] = i.ok ? json::value(nullptr) : json::value(i.reason);
    if (i.width > 0) {
        o["width"] = i.width;
        o["height"] = i.height;
    }
    if (!i.file.empty()) {
        o["bytes"] = i.bytes;
    }
    if (!i.note.empty()) {
        o["note"] = i.note;
    }
    return o;
}

/// Image `index` of the set: its format, size and content follow from (seed, index) alone.
item make_good(const fs::path& out, std::uint64_t seed, int index) {
    rng r(seed * 0x100000001b3ull + static_cast<std::uint64_t>(index));
    const double pick = r.uniform();
    const format f = pick < 0.5 ? format::jpeg : pick < 0.8 ? format::png : format::webp;

    // Mostly small, some medium, one in twenty a few megapixels.
    const double bucket = r.uniform();
    const double pixels = bucket < 0.70   ? r.uniform(20e3, 300e3)
                          : bucket < 0.95 ? r.uniform(300e3, 1.5e6)
                                          : r.uniform(2e6, 4e6);
    const double aspect = r.between(500, 2000) / 1000.0;
    picture p;
    p.width = std::max(16, static_cast<int>(std::sqrt(pixels * aspect)));
    p.height = std::max(16, static_cast<int>(pixels / p.width));
    p.bands = 3;
    if (f == format::jpeg && r.chance(0.1)) {
        p.bands = 1;
    } else if (f != format::jpeg && r.chance(0.25)) {
        p.bands = 4;
    } else if (f == format::png && r.chance(0.1)) {
        p.bands = 1;
    }
    p.pixels.resize(static_cast<std::size_t>(p.width) * static_cast<std::size_t>(p.height) *
                    static_cast<std::size_t>(p.bands));

    draw_gradient(r, p);
    draw_shapes(r, p);
    if (r.chance(0.25)) {
        draw_stripes(r, p);
    }
    // PNG is lossless: noise would make it large and slow to write.
    draw_noise(r, p, f == format::png ? 0 : r.between(0, 4));
    draw_alpha(r, p);
    const std::string bytes = encode(p, f, r);

    char name[64];
    std::snprintf(name, sizeof name, "%04d-%dx%d.%s", index, p.width, p.height,
                  extension(f).data());
    write_file(out / "images" / name, bytes);

    item i;
    i.path = std::string("/images/") + name;
    i.file = std::string("images/") + name;
    i.kind = kind_name(f);
    i.width = p.width;
    i.height = p.height;
    i.bytes = bytes.size();
    return i;
}

/// A small clean image for the bad cases to start from.
std::string small_image(std::uint64_t seed, format f, int width, int height, int noise) {
    rng r(seed ^ 0x5eedbadull);
    picture p;
    p.width = width;
    p.height = height;
    p.pixels.resize(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 3);
    draw_gradient(r, p);
    draw_shapes(r, p);
    draw_noise(r, p, noise);
    return encode(p, f, r);
}

void put_be32(std::string& s, std::uint32_t v) {
    s += static_cast<char>(v >> 24);
    s += static_cast<char>(v >> 16);
    s += static_cast<char>(v >> 8);
    s += static_cast<char>(v);
}

/// A PNG chunk: length, type, data, CRC of type and data.
std::string png_chunk(std::string_view type, std::string_view data) {
    std::string chunk;
    put_be32(chunk, static_cast<std::uint32_t>(data.size()));
    chunk += type;
    chunk += data;
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(chunk.data() + 4),
                static_cast<uInt>(chunk.size() - 4));
    put_be32(chunk, static_cast<std::uint32_t>(crc));
    return chunk;
}

constexpr std::string_view png_signature = "\x89PNG\r\n\x1a\n";

/// A PNG whose header declares `side`×`side` RGB pixels and whose data is a
/// few rows of zeros: a decompression bomb's header on a few kilobytes.
std::string png_bomb(std::uint32_t side) {
    std::string ihdr;
    put_be32(ihdr, side);
    put_be32(ihdr, side);
    ihdr += '\x08';  // bit depth
    ihdr += '\x02';  // colour type: RGB
    ihdr += '\x00';  // compression
    ihdr += '\x00';  // filter
    ihdr += '\x00';  // no interlace
    constexpr int rows = 8;
    const std::string raw(static_cast<std::size_t>(rows) * (1 + 3 * std::size_t{side}), '\0');
    uLongf packed_size = compressBound(static_cast<uLong>(raw.size()));
    std::string packed(packed_size, '\0');
    if (compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_size,
                  reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()),
                  Z_BEST_COMPRESSION) != Z_OK) {
        throw std::runtime_error("zlib cannot compress the bomb's rows");
    }
    packed.resize(packed_size);
    return std::string(png_signature) + png_chunk("IHDR", ihdr) + png_chunk("IDAT", packed) +
           png_chunk("IEND", "");
}

/// `png` with a tEXt chunk holding `text` right after IHDR.
std::string png_with_text(const std::string& png, std::string_view keyword, std::string_view text) {
    // Signature (8) + IHDR (4 length + 4 type + 13 data + 4 CRC).
    constexpr std::size_t after_ihdr = 8 + 25;
    if (png.size() < after_ihdr || png.compare(12, 4, "IHDR") != 0) {
        throw std::logic_error("libvips wrote a PNG that does not start with IHDR");
    }
    std::string data(keyword);
    data += '\0';
    data += text;
    return png.substr(0, after_ihdr) + png_chunk("tEXt", data) + png.substr(after_ihdr);
}

/// `jpeg` with a COM segment holding `text` right after SOI.
std::string jpeg_with_comment(const std::string& jpeg, std::string_view text) {
    if (jpeg.size() < 2 || jpeg.compare(0, 2, "\xff\xd8") != 0) {
        throw std::logic_error("libvips wrote a JPEG that does not start with SOI");
    }
    const std::size_t length = text.size() + 2;
    std::string segment = "\xff\xfe";
    segment += static_cast<char>(length >> 8);
    segment += static_cast<char>(length & 0xff);
    segment += text;
    return jpeg.substr(0, 2) + segment + jpeg.substr(2);
}

item write_bad(const fs::path& out, std::string name, std::string_view bytes, std::string kind,
               std::string reason, std::string note) {
    write_file(out / "images" / name, bytes);
    item i;
    i.path = "/images/" + name;
    i.file = "images/" + name;
    i.kind = std::move(kind);
    i.ok = false;
    i.reason = std::move(reason);
    i.bytes = bytes.size();
    i.note = std::move(note);
    return i;
}

/// The cases the pipeline must fail, each on its own, with the reason it should give.
std::vector<item> make_bad(const fs::path& out, std::uint64_t seed,
                           const std::string& crash_marker) {
    std::vector<item> items;

    // Noisy, so nearly all of the file is entropy-coded data: the cut lands
    // well inside the scan, after a complete header.
    const std::string whole = small_image(seed, format::jpeg, 800, 600, 6);
    items.push_back(write_bad(
        out, "bad-truncated.jpg", std::string_view(whole).substr(0, whole.size() * 2 / 5),
        "truncated_jpeg", "truncated",
        "the first 40% of a JPEG (complete header, cut inside the scan); libvips decodes it "
        "with a warning unless loaded with fail_on=truncated"));

    items.push_back(write_bad(out, "bad-text.jpg",
                              "This is a text file with a .jpg name; it holds no image.\n",
                              "not_an_image", "not_an_image", "plain text named .jpg"));

    constexpr std::uint32_t bomb_side = 100000;
    item bomb = write_bad(out, "bad-bomb.png", png_bomb(bomb_side), "png_bomb", "too_many_pixels",
                          "the header declares 100000x100000 RGB (30 GB decoded) over a few "
                          "kilobytes of data");
    bomb.width = static_cast<int>(bomb_side);
    bomb.height = static_cast<int>(bomb_side);
    items.push_back(std::move(bomb));

    const std::string crash_note =
        "a valid image carrying the crash marker; a worker started with "
        "THUMBNAILS_CRASH_ON_MARKER set to it segfaults (decoder=processes keeps that to the "
        "one record)";
    item crash_png = write_bad(
        out, "bad-crash.png",
        png_with_text(small_image(seed, format::png, 320, 240, 0), "Comment", crash_marker),
        "crash_marker_png", "worker_crashed", crash_note + "; the marker is in a tEXt chunk");
    crash_png.width = 320;
    crash_png.height = 240;
    items.push_back(std::move(crash_png));
    item crash_jpeg = write_bad(
        out, "bad-crash.jpg",
        jpeg_with_comment(small_image(seed, format::jpeg, 320, 240, 0), crash_marker),
        "crash_marker_jpeg", "worker_crashed", crash_note + "; the marker is in a COM segment");
    crash_jpeg.width = 320;
    crash_jpeg.height = 240;
    items.push_back(std::move(crash_jpeg));

    item missing;
    missing.path = "/images/missing.jpg";
    missing.kind = "missing";
    missing.ok = false;
    missing.reason = "not_found";
    missing.note = "no such file: the origin answers 404";
    items.push_back(std::move(missing));

    const std::string slow_bytes = small_image(seed, format::jpeg, 640, 480, 3);
    write_file(out / "images" / "slow.jpg", slow_bytes);
    item slow;
    slow.path = "/slow/images/slow.jpg";
    slow.file = "images/slow.jpg";
    slow.kind = "slow";
    slow.ok = false;
    slow.reason = "timeout";
    slow.width = 640;
    slow.height = 480;
    slow.bytes = slow_bytes.size();
    slow.note =
        "a good image the origin sends only after --slow-ms; fails when "
        "THUMBNAILS_FETCH_TIMEOUT_MS is shorter";
    items.push_back(std::move(slow));
    return items;
}

std::string json_string(std::string_view s) { return json::serialize(json::value(s)); }

/// The manifest, one item per line so that it diffs and greps well.
std::string manifest_text(std::uint64_t seed, int count, const std::string& crash_marker,
                          const std::vector<item>& items) {
    std::string text = "{\n";
    text += "  \"format\": " + json_string(manifest_format) + ",\n";
    text += "  \"seed\": " + std::to_string(seed) + ",\n";
    text += "  \"count\": " + std::to_string(count) + ",\n";
    text += "  \"crash_marker\": " + json_string(crash_marker) + ",\n";
    text += "  \"items\": [\n";
    for (std::size_t i = 0; i < items.size(); ++i) {
        text += "    " + json::serialize(to_json(items[i]));
        text += i + 1 < items.size() ? ",\n" : "\n";
    }
    text += "  ]\n}\n";
    return text;
}

/// Draws and writes the good images on `jobs` threads; results keep their index.
std::vector<item> make_all_good(const fs::path& out, std::uint64_t seed, int count, int jobs) {
    std::vector<item> items(static_cast<std::size_t>(count));
    std::atomic<int> next{0};
    std::mutex failure_mutex;
    std::exception_ptr failure;
    auto work = [&] {
        for (int i = next++; i < count; i = next++) {
            try {
                items[static_cast<std::size_t>(i)] = make_good(out, seed, i);
            } catch (...) {
                const std::lock_guard lock(failure_mutex);
                if (!failure) {
                    failure = std::current_exception();
                }
                next = count;
            }
        }
    };
    std::vector<std::thread> threads;
    for (int j = 1; j < jobs; ++j) {
        threads.emplace_back(work);
    }
    work();
    for (auto& t : threads) {
        t.join();
    }
    if (failure) {
        std::rethrow_exception(failure);
    }
    return items;
}

/// libvips errors surface as vips::VError; anything else is ours.
int generate(const fs::path& out, int count, std::uint64_t seed, const std::string& crash_marker,
             int jobs) {
    const auto started = std::chrono::steady_clock::now();
    fs::create_directories(out / "images");
    std::vector<item> items = make_all_good(out, seed, count, jobs);
    std::vector<item> bad = make_bad(out, seed, crash_marker);
    items.insert(items.end(), std::make_move_iterator(bad.begin()),
                 std::make_move_iterator(bad.end()));

    // Written last, through a rename: a manifest means a complete set.
    const fs::path manifest = out / "manifest.json";
    const fs::path partial = out / "manifest.json.partial";
    write_file(partial, manifest_text(seed, count, crash_marker, items));
    fs::rename(partial, manifest);

    std::size_t total = 0;
    for (const auto& i : items) {
        total += i.bytes;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("thumbnails_samples: %d images and %zu bad cases (%.1f MB) in %s, %.1f s\n", count,
                bad.size(), static_cast<double>(total) / 1e6, out.string().c_str(), seconds);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Write the thumbnail demo's sample images and their manifest"};
    std::string out;
    int count = 300;
    std::uint64_t seed = 1;
    std::string crash_marker(default_crash_marker);
    int jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    app.add_option("--out", out, "Directory to write images/ and manifest.json into")->required();
    app.add_option("--count", count, "Number of good images")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    app.add_option("--seed", seed, "Seed of every image's format, size and content")
        ->capture_default_str();
    app.add_option("--crash-marker", crash_marker,
                   "Bytes to plant in the crash cases (THUMBNAILS_CRASH_ON_MARKER)")
        ->check([](const std::string& s) {
            return s.size() < 8 ? std::string("the marker needs 8 bytes or more") : std::string();
        })
        ->capture_default_str();
    app.add_option("--jobs", jobs,
                   "Threads drawing and encoding (the output does not depend on it)")
        ->check(CLI::Range(1, 64));
    CLI11_PARSE(app, argc, argv);

    if (VIPS_INIT(argv[0]) != 0) {
        std::fprintf(stderr, "thumbnails_samples: libvips failed to start: %s\n",
                     vips_error_buffer());
        return 1;
    }
    // Every image is made once: caching operations would only hold memory.
    vips_cache_set_max(0);
    // The work is spread over our own threads; libvips' would only compete with them.
    vips_concurrency_set(1);
    int code = 1;
    try {
        code = generate(out, count, seed, crash_marker, jobs);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "thumbnails_samples: %s\n", e.what());
    }
    vips_shutdown();
    return code;
}
