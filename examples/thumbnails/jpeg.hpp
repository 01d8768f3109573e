/// @file
/// JPEG with libjpeg-turbo: decoding at a reduced DCT scale, and encoding.
#pragma once

#include <string>
#include <string_view>

#include "raster.hpp"

namespace thumbnails {

/// The DCT scale denominator to decode a `width` x `height` JPEG at for a thumbnail whose
/// longest edge is `target`: the largest of 8, 4, 2 and 1 that still leaves the longest edge
/// at least `target` (as Pillow's `draft` chooses), so the resampler only ever shrinks.
/// 1 when the image is no larger than `target`.
int jpeg_scale_denominator(int width, int height, int target) noexcept;

/// Decodes a JPEG to RGB: reads the header, calls `check` with its dimensions, then decodes
/// at the scale `jpeg_scale_denominator` picks for `target` (`target` <= 0: full size).
/// Greyscale becomes RGB, CMYK and YCCK (Adobe) are converted naively; an embedded ICC profile
/// is not applied. The orientation is the EXIF orientation of an APP1 segment.
///
/// Errors: `record_error` with `corrupt` for anything libjpeg reports as an error or as a
/// warning about damaged data (a truncated scan, "premature end of data segment", bad Huffman
/// codes): libjpeg would otherwise return the image with its missing part grey. What `check`
/// throws passes through.
decoded_image decode_jpeg(std::string_view data, int target, const header_check& check);

/// Encodes `image` as a baseline JPEG of `quality` (1-100), 4:2:0, with Huffman tables
/// optimised for the image, no metadata. RGBA is flattened on white first (JPEG has no alpha).
///
/// Errors: `record_error` with `decode_failed` if libjpeg fails.
std::string encode_jpeg(const raster& image, int quality);

}  // namespace thumbnails
