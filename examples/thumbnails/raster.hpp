/// @file
/// The pixels between a decoder and an encoder: 8-bit sRGB, in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace thumbnails {

/// An allocator that leaves new elements uninitialised: every pixel buffer is written whole
/// by a decoder or a resampling pass, and zeroing it first cost a tenth of a PNG thumbnail.
template <class T>
struct uninitialised_allocator : std::allocator<T> {
    template <class U>
    struct rebind {
        using other = uninitialised_allocator<U>;
    };
    using std::allocator<T>::allocator;
    template <class U>
    void construct(U* p) noexcept {
        ::new (static_cast<void*>(p)) U;
    }
    template <class U, class... Args>
    void construct(U* p, Args&&... args) {
        ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
};

/// An 8-bit sRGB image, rows top to bottom with no padding, `channels` bytes per pixel: 3 (RGB)
/// or 4 (RGBA, alpha not premultiplied).
struct raster {
    int width = 0;
    int height = 0;
    int channels = 3;
    std::vector<std::uint8_t, uninitialised_allocator<std::uint8_t>> pixels;

    /// An image of the given size, its bytes not initialised.
    static raster of_size(int width, int height, int channels) {
        raster r;
        r.width = width;
        r.height = height;
        r.channels = channels;
        r.pixels.resize(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) *
                        static_cast<std::size_t>(channels));
        return r;
    }
    std::size_t stride() const noexcept {
        return static_cast<std::size_t>(width) * static_cast<std::size_t>(channels);
    }
    std::uint8_t* row(int y) noexcept {
        return pixels.data() + static_cast<std::size_t>(y) * stride();
    }
    const std::uint8_t* row(int y) const noexcept {
        return pixels.data() + static_cast<std::size_t>(y) * stride();
    }
};

/// Called by a decoder with the dimensions the header declares, before any pixel is decoded;
/// it throws to refuse the image (too many pixels), and the decoder then decodes nothing.
using header_check = std::function<void(int width, int height)>;

/// What a decoder returns: the pixels as stored, and the EXIF orientation (1 to 8, 1 when the
/// file has none) that still has to be applied to them.
struct decoded_image {
    raster pixels;
    int orientation = 1;
};

}  // namespace thumbnails
