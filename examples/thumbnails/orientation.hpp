/// @file
/// EXIF orientation: reading the tag and turning the pixels upright.
#pragma once

#include <string_view>

#include "raster.hpp"

namespace thumbnails {

/// The Orientation tag (0x0112) of IFD0 in an EXIF block: `exif` is the TIFF structure
/// ("II*\0" or "MM\0*" and what follows), with or without the "Exif\0\0" prefix a JPEG APP1
/// segment carries. Returns 1 (upright) when there is no tag, or the block is malformed, or
/// the value is out of 1..8: a damaged tag must not fail an image that decodes.
int exif_orientation(std::string_view exif) noexcept;

/// `image` turned as EXIF orientation `orientation` asks (1 upright, 2 mirrored, 3 turned
/// 180 degrees, 4 flipped, 5 transposed, 6 turned 90 clockwise, 7 transversed, 8 turned 90
/// anticlockwise): orientations 5 to 8 swap width and height. Other values change nothing.
raster apply_orientation(raster image, int orientation);

}  // namespace thumbnails
