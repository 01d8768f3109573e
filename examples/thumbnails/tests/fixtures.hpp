/// @file
/// Test images made with libvips in the test itself: good ones in several
/// formats, and the hostile ones the function must refuse.
#pragma once

#include <cstdint>
#include <string>

namespace thumbnails_test {

/// A `width` x `height` RGB image, as raw 8-bit pixels, following `pattern`:
/// 0 a diagonal colour gradient, 1 a checkerboard, 2 rings, 3 vertical stripes. The same
/// arguments always give the same pixels.
std::string pattern_pixels(int width, int height, int pattern);

/// `pattern_pixels` encoded as JPEG (quality `q`), PNG (optionally with an alpha channel that
/// fades from left to right) or WebP.
std::string jpeg(int width, int height, int pattern, int q = 90);
std::string png(int width, int height, int pattern, bool alpha = false);
std::string webp(int width, int height, int pattern);
/// A uniform colour, PNG.
std::string solid_png(int width, int height, std::uint8_t r, std::uint8_t g, std::uint8_t b);

/// A PNG whose left half is transparent red and right half opaque blue.
std::string half_transparent_png(int width, int height);

/// The first `fraction` of `image`'s bytes.
std::string truncated(const std::string& image, double fraction);

/// A small valid PNG whose header then says it is `width` x `height`, with its checksum
/// fixed: a decompression bomb in 70 bytes.
std::string bomb_png(std::uint32_t width, std::uint32_t height);

/// A good JPEG with `marker` appended after its end (decoders ignore it).
std::string marked_jpeg(const std::string& marker);

/// Decodes `image` and returns its width and height; throws when it is not an image.
std::pair<int, int> dimensions(const std::string& image);

}  // namespace thumbnails_test
