#include "fixtures.hpp"

#include <zlib.h>

#include <cmath>
#include <memory>
#include <stdexcept>
#include <utility>

#include <glib.h>
#include <vips/vips8>

namespace thumbnails_test {

namespace {

std::string encode(const std::string& pixels, int width, int height, int bands, const char* suffix,
                   vips::VOption* options) {
    std::string copy = pixels;  // vips reads it while encoding; nothing keeps it longer.
    const vips::VImage image = vips::VImage::new_from_memory(copy.data(), copy.size(), width,
                                                             height, bands, VIPS_FORMAT_UCHAR);
    void* buffer = nullptr;
    std::size_t size = 0;
    image.write_to_buffer(suffix, &buffer, &size, options);
    std::string out(static_cast<const char*>(buffer), size);
    g_free(buffer);
    return out;
}

void put_be32(std::string& s, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
        s[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
    }
}

}  // namespace

std::string pattern_pixels(int width, int height, int pattern) {
    std::string px(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 3, '\0');
    for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x) {
            const std::size_t i = (static_cast<std::size_t>(y) * static_cast<std::size_t>(width) +
                                   static_cast<std::size_t>(x)) * 3;
            int r = 0, g = 0, b = 0;
            switch (pattern) {
                case 0:
                    r = 255 * x / std::max(1, width - 1);
                    g = 255 * y / std::max(1, height - 1);
                    b = 128;
                    break;
                case 1: {
                    const bool on = ((8 * x / width) + (8 * y / height)) % 2 == 0;
                    r = g = b = on ? 230 : 20;
                    b = on ? 40 : 200;
                    break;
                }
                case 2: {
                    const double dx = x - width / 2.0, dy = y - height / 2.0;
                    const double d = std::sqrt(dx * dx + dy * dy) / std::max(width, height);
                    r = static_cast<int>(127.5 + 127.5 * std::sin(d * 40));
                    g = 255 - r;
                    b = 90;
                    break;
                }
                default:
                    r = g = b = (x * 6 / width) % 2 == 0 ? 250 : 10;
                    break;
            }
            px[i] = static_cast<char>(r);
            px[i + 1] = static_cast<char>(g);
            px[i + 2] = static_cast<char>(b);
        }
    }
    return px;
}

std::string jpeg(int width, int height, int pattern, int q) {
    return encode(pattern_pixels(width, height, pattern), width, height, 3, ".jpg",
                  vips::VImage::option()->set("Q", q));
}

std::string png(int width, int height, int pattern, bool alpha) {
    const std::string rgb = pattern_pixels(width, height, pattern);
    if (!alpha) return encode(rgb, width, height, 3, ".png", nullptr);
    std::string rgba;
    rgba.reserve(rgb.size() / 3 * 4);
    for (std::size_t i = 0; i < rgb.size(); i += 3) {
        const std::size_t x = (i / 3) % static_cast<std::size_t>(width);
        rgba.append(rgb, i, 3);
        rgba += static_cast<char>(255 * x / static_cast<std::size_t>(std::max(1, width - 1)));
    }
    return encode(rgba, width, height, 4, ".png", nullptr);
}

std::string webp(int width, int height, int pattern) {
    return encode(pattern_pixels(width, height, pattern), width, height, 3, ".webp",
                  vips::VImage::option()->set("Q", 90));
}

std::string solid_png(int width, int height, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
    std::string px;
    for (int i = 0; i < width * height; ++i) {
        px += static_cast<char>(r);
        px += static_cast<char>(g);
        px += static_cast<char>(b);
    }
    return encode(px, width, height, 3, ".png", nullptr);
}

std::string half_transparent_png(int width, int height) {
    std::string px;
    for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x) {
            const bool left = x < width / 2;
            px += static_cast<char>(left ? 255 : 0);
            px += '\0';
            px += static_cast<char>(left ? 0 : 255);
            px += static_cast<char>(left ? 0 : 255);
        }
    }
    return encode(px, width, height, 4, ".png", nullptr);
}

std::string truncated(const std::string& image, double fraction) {
    return image.substr(0, static_cast<std::size_t>(static_cast<double>(image.size()) * fraction));
}

std::string bomb_png(std::uint32_t width, std::uint32_t height) {
    std::string p = png(1, 1, 0);
    // Signature (8), then the IHDR chunk: length (4), "IHDR" (4), width, height, ..., CRC.
    if (p.size() < 33 || p.compare(12, 4, "IHDR") != 0) throw std::logic_error("unexpected PNG");
    put_be32(p, 16, width);
    put_be32(p, 20, height);
    const auto crc = static_cast<std::uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(p.data() + 12), 17));
    put_be32(p, 29, crc);
    return p;
}

std::string marked_jpeg(const std::string& marker) { return jpeg(64, 48, 2) + marker; }

std::pair<int, int> dimensions(const std::string& image) {
    const vips::VImage v = vips::VImage::new_from_buffer(image.data(), image.size(), "");
    return {v.width(), v.height()};
}

}  // namespace thumbnails_test
