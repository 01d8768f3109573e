/// @file
/// WebP with libwebp: decoding (still images) and lossy encoding.
#pragma once

#include <string>
#include <string_view>

#include "raster.hpp"

namespace thumbnails {

/// Decodes a still WebP (lossy or lossless): reads the header, calls `check` with its
/// dimensions, then decodes every pixel, RGBA when the image has alpha, RGB otherwise. The
/// orientation is that of an EXIF chunk, when the extended format carries one.
///
/// Errors: `record_error` with `corrupt` for an unreadable header or data libwebp cannot
/// decode whole (a truncated file included), `unsupported_format` for an animated WebP.
/// What `check` throws passes through.
decoded_image decode_webp(std::string_view data, const header_check& check);

/// Encodes `image` (RGB or RGBA) as a lossy WebP of `quality` (0-100), no metadata.
///
/// Errors: `record_error` with `decode_failed` if libwebp fails.
std::string encode_webp(const raster& image, int quality);

}  // namespace thumbnails
