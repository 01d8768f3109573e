#include "resize.hpp"

#include <cstdlib>

#include <gtest/gtest.h>

namespace thumbnails {
namespace resize_test {
namespace {

/// Every pixel (value, value, value), opaque when there is alpha (unless `alpha` says otherwise).
raster constant(int width, int height, int channels, std::uint8_t value, std::uint8_t alpha = 255) {
    raster r = raster::of_size(width, height, channels);
    for (std::size_t i = 0; i < r.pixels.size(); ++i) {
        r.pixels[i] = channels == 4 && i % 4 == 3 ? alpha : value;
    }
    return r;
}

TEST(ResizeTest, ConstantImageStaysConstant) {
    for (const auto& [w, h] : {std::pair{37, 29}, std::pair{256, 192}, std::pair{1, 1}}) {
        for (int channels : {3, 4}) {
            const raster out = resize(constant(513, 389, channels, 173), w, h);
            ASSERT_EQ(out.width, w);
            ASSERT_EQ(out.height, h);
            for (std::size_t i = 0; i < out.pixels.size(); ++i) {
                ASSERT_EQ(out.pixels[i], channels == 4 && i % 4 == 3 ? 255 : 173)
                    << w << "x" << h << " " << channels;
            }
        }
    }
}

TEST(ResizeTest, TranslucentConstantStaysWithinOneStep) {
    // Premultiplying in 8 bits rounds: 173 at alpha 173 comes back as 172 (Pillow's RGBa does
    // the same). The alpha itself is exact.
    const raster out = resize(constant(300, 200, 4, 173, 173), 64, 40);
    for (std::size_t i = 0; i < out.pixels.size(); ++i) {
        if (i % 4 == 3) {
            ASSERT_EQ(out.pixels[i], 173);
        } else {
            ASSERT_NEAR(out.pixels[i], 173, 1);
        }
    }
}

TEST(ResizeTest, GradientShrinksToItsAreaMeans) {
    // Each column's value is its x; shrunk 4x, each output column is the mean of the four
    // it covers (4i + 1.5) give or take the kernel's reach into the neighbours, which on a
    // linear ramp cancels out.
    raster in = raster::of_size(256, 8, 3);
    for (int y = 0; y < in.height; ++y) {
        for (int x = 0; x < in.width; ++x) {
            for (int c = 0; c < 3; ++c) in.row(y)[3 * x + c] = static_cast<std::uint8_t>(x);
        }
    }
    const raster out = resize(in, 64, 2);
    for (int y = 0; y < out.height; ++y) {
        // The first and last columns see the edge: their windows are cut and renormalised.
        for (int x = 2; x < out.width - 2; ++x) {
            EXPECT_NEAR(out.row(y)[3 * x], 4 * x + 1.5, 1.0) << x;
        }
        for (int x = 1; x < out.width; ++x) EXPECT_GE(out.row(y)[3 * x], out.row(y)[3 * (x - 1)]);
    }
}

TEST(ResizeTest, TransparentPixelsLendNoColour) {
    // Opaque red beside fully transparent black: resampled premultiplied, every pixel with any
    // coverage is pure red; straight alpha would darken the edge towards black.
    raster in = raster::of_size(64, 4, 4);
    for (int y = 0; y < in.height; ++y) {
        for (int x = 0; x < in.width; ++x) {
            std::uint8_t* p = in.row(y) + 4 * x;
            const std::uint8_t on = x < 32 ? 255 : 0;
            p[0] = on, p[1] = 0, p[2] = 0, p[3] = on;
        }
    }
    const raster out = resize(in, 16, 1);
    for (int x = 0; x < out.width; ++x) {
        const std::uint8_t* p = out.row(0) + 4 * x;
        if (p[3] > 8) {
            EXPECT_GE(p[0], 250) << x;  // low alpha rounds more coarsely
        }
        EXPECT_EQ(p[1], 0);
        EXPECT_EQ(p[2], 0);
    }
    EXPECT_EQ(out.row(0)[3], 255);
    EXPECT_EQ(out.row(0)[4 * 15 + 3], 0);
}

TEST(ResizeTest, SameSizeIsACopy) {
    raster in = constant(10, 7, 3, 9);
    in.pixels[5] = 200;
    const raster out = resize(in, 10, 7);
    EXPECT_EQ(out.pixels, in.pixels);
}

}  // namespace
}  // namespace resize_test
}  // namespace thumbnails
