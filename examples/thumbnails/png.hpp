/// @file
/// PNG with libpng's simplified API: decoding to 8-bit sRGB, and encoding.
#pragma once

#include <string>
#include <string_view>

#include "raster.hpp"

namespace thumbnails {

/// Decodes a PNG: reads the header, calls `check` with its dimensions, then decodes every
/// pixel to 8-bit sRGB (palette, greyscale and 16-bit converted; gamma applied), RGBA when
/// the image has any transparency (an alpha channel or tRNS), RGB otherwise. A PNG carries
/// no orientation, so it is always 1.
///
/// Errors: `record_error` with `corrupt` when libpng fails: truncated data, a bad CRC on a
/// critical chunk, a damaged zlib stream. What `check` throws passes through.
decoded_image decode_png(std::string_view data, const header_check& check);

/// Encodes `image` (RGB or RGBA) as an 8-bit PNG at zlib's default compression (level 6).
///
/// Errors: `record_error` with `decode_failed` if libpng fails.
std::string encode_png(const raster& image);

}  // namespace thumbnails
