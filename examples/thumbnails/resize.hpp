/// @file
/// Resampling for thumbnails: a separable convolution, as Pillow's `resize` does it.
#pragma once

#include "raster.hpp"

namespace thumbnails {

/// `image` resampled to `width` x `height` (each at least 1) with a bicubic kernel (a = -0.5,
/// Pillow's and libvips' "bicubic") widened by the reduction ratio when shrinking, so every
/// source pixel counts (no aliasing however large the reduction). Each output pixel's window
/// and weights are computed once per row or column, in 22-bit fixed point. A reduction of 4x
/// or more first averages blocks of pixels down to at most twice the target (as Pillow's
/// `thumbnail` does, with its reducing_gap of 2). RGBA is resampled
/// with premultiplied alpha, so transparent pixels' colour does not bleed into their
/// neighbours. A constant image stays constant.
raster resize(raster image, int width, int height);

}  // namespace thumbnails
