/// @file
/// The thumbnail function's former libvips path, kept only as the codec benchmark's baseline:
/// thumbnail_buffer with shrink-on-load, one vips thread, fail_on=error, sRGB, JPEG Q80
/// stripped (alpha flattened on white).
#pragma once

#include <string>
#include <string_view>

namespace thumbnails_bench {

/// What the benchmark compares between stacks.
struct vips_result {
    std::string bytes;
    int width = 0;
    int height = 0;
};

/// Starts libvips as the function did (once; later calls do nothing). Throws on failure.
void start_vips(const char* argv0);

/// A JPEG thumbnail (quality 80) of `image` whose longest edge is `size`. Throws
/// `std::runtime_error` with libvips' message when it cannot.
vips_result vips_thumbnail(std::string_view image, int size);

}  // namespace thumbnails_bench
