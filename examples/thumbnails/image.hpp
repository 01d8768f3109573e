/// @file
/// Making a thumbnail: the CPU part of a record, the same in a CPU-pool thread and in a
/// process-pool worker. The decoders and encoders are libjpeg-turbo, libpng and libwebp
/// (jpeg.hpp, png.hpp, webp.hpp), linked statically; resize.hpp resamples.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "config.hpp"

namespace thumbnails {

/// What `make_thumbnail` needs besides the image.
struct thumbnail_params {
    std::uint64_t max_pixels = 50'000'000;
    int size = 256;  ///< Longest edge of the thumbnail; smaller images are not enlarged.
    output_format format = output_format::jpeg;
};

/// An sRGB colour.
struct rgb {
    std::uint8_t r = 0, g = 0, b = 0;
    friend bool operator==(const rgb&, const rgb&) = default;
};

/// `"#rrggbb"`.
std::string to_hex(rgb c);

/// The result of decoding one image.
struct thumbnail {
    std::string source_format;  ///< The source's format: `jpeg`, `png` or `webp`.
    int width = 0;              ///< The source's dimensions, as its header declares them.
    int height = 0;
    std::string bytes;  ///< The encoded thumbnail.
    int thumb_width = 0;
    int thumb_height = 0;
    std::uint64_t dhash = 0;  ///< Difference hash of the thumbnail (see `dhash`).
    rgb average_color;        ///< Alpha-weighted mean colour of the thumbnail, sRGB.
};

/// Decodes `image`, checking it before any pixel is decoded: its signature must be JPEG, PNG
/// or WebP (still) and the header's width * height at most `p.max_pixels`. Then it makes the
/// thumbnail (a JPEG decoded at a reduced DCT scale, resampled bicubic, turned upright by its
/// EXIF orientation, 8-bit sRGB, longest edge `p.size`, never enlarged) and encodes it in
/// `p.format`: JPEG quality 80 (alpha flattened on white), PNG, or WebP quality 80 (alpha
/// kept). Truncated or corrupt data is an error, never a partly grey image.
///
/// Errors: `record_error` with `not_an_image`, `unsupported_format`, `too_many_pixels`,
/// `corrupt` or `decode_failed`. GIF, TIFF, HEIF/AVIF, BMP, PDF and SVG are recognised and
/// refused as `unsupported_format`; bytes of no known format are `not_an_image`.
///
/// Thread-safety: may run on several threads at once; it shares nothing and starts no thread.
thumbnail make_thumbnail(std::string_view image, const thumbnail_params& p);

/// A greyscale image for `dhash`: `width * height` luma values, row-major.
struct luma_image {
    int width = 0;
    int height = 0;
    const float* pixels = nullptr;
};

/// The 64-bit difference hash ("dHash") of an image: the image is area-averaged down to 9x8,
/// and bit `63 - (8 * y + x)` is set when the cell at (x + 1, y) is brighter than the one at
/// (x, y) (the convention of the Python `imagehash` package: row-major, first bit most
/// significant). Stable under re-encoding and rescaling; a few bits differ between near copies.
///
/// Precondition: width and height at least 1.
std::uint64_t dhash(const luma_image& image);

/// Hamming distance between two hashes: the number of differing bits.
int hamming(std::uint64_t a, std::uint64_t b) noexcept;

/// `"%016x"` of `hash`.
std::string hash_hex(std::uint64_t hash);

// ---- the process-pool form ------------------------------------------------

/// The work function's name in the process pool.
inline constexpr const char* thumbnail_work_name = "thumbnail";

/// The input of the `thumbnail` work function: parameters and image in one byte string.
std::string encode_request(const thumbnail_params& p, std::string_view crash_marker,
                           std::string_view image);

/// The `thumbnail` work function: decodes a request, runs `make_thumbnail`, and returns the
/// result or the `record_error` as bytes (`decode_response` reads them). When the request
/// carries a crash marker and the image contains it, the worker raises SIGSEGV: a demo and
/// test hook that shows a crashing decoder failing alone.
std::string thumbnail_work(std::string_view request);

/// Reads what `thumbnail_work` returned: the thumbnail, or throws its `record_error`.
thumbnail decode_response(std::string_view response);

}  // namespace thumbnails
