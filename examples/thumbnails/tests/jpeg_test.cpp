#include "jpeg.hpp"

#include <gtest/gtest.h>

#include "failure.hpp"
#include "fixtures.hpp"
#include "png.hpp"

namespace thumbnails {
namespace jpeg_test {
namespace {

void no_check(int, int) {}

TEST(JpegTest, ScaleIsTheLargestThatKeepsTheTarget) {
    EXPECT_EQ(jpeg_scale_denominator(4000, 3000, 256), 8);  // 500 px
    EXPECT_EQ(jpeg_scale_denominator(3000, 4000, 256), 8);
    EXPECT_EQ(jpeg_scale_denominator(2000, 1500, 256), 4);  // 1/8 would be 250 px
    EXPECT_EQ(jpeg_scale_denominator(2048, 10, 256), 8);    // exactly 256
    EXPECT_EQ(jpeg_scale_denominator(2041, 10, 256), 8);    // 255.1, rounded up by libjpeg
    EXPECT_EQ(jpeg_scale_denominator(640, 480, 256), 2);
    EXPECT_EQ(jpeg_scale_denominator(511, 480, 256), 2);  // 255.5, rounded up to 256
    EXPECT_EQ(jpeg_scale_denominator(510, 480, 256), 1);
    EXPECT_EQ(jpeg_scale_denominator(100, 50, 256), 1);  // never enlarged
    EXPECT_EQ(jpeg_scale_denominator(4000, 3000, 0), 1);
}

TEST(JpegTest, DecodesAtTheChosenScale) {
    const std::string image = thumbnails_test::jpeg(1000, 700, 0);
    int seen_w = 0, seen_h = 0;
    const decoded_image d = decode_jpeg(image, 200, [&](int w, int h) { seen_w = w, seen_h = h; });
    EXPECT_EQ(seen_w, 1000);
    EXPECT_EQ(seen_h, 700);
    EXPECT_EQ(d.pixels.width, 250);  // 1/4: 1/8 would be 125
    EXPECT_EQ(d.pixels.height, 175);
    EXPECT_EQ(d.pixels.channels, 3);
    EXPECT_EQ(d.orientation, 1);
}

TEST(JpegTest, TheCheckRunsBeforeAnyPixel) {
    const std::string image = thumbnails_test::jpeg(320, 240, 0);
    EXPECT_THROW(decode_jpeg(image, 0, [](int, int) { throw std::range_error("refused"); }),
                 std::range_error);
}

TEST(JpegTest, TruncatedScanIsCorrupt) {
    for (double cut : {0.3, 0.6, 0.95}) {
        try {
            (void)decode_jpeg(thumbnails_test::truncated(thumbnails_test::jpeg(640, 480, 2), cut),
                              0, no_check);
            ADD_FAILURE() << "decoded " << cut;
        } catch (const record_error& e) {
            EXPECT_EQ(e.reason(), reason::corrupt) << e.what();
        }
    }
}

TEST(JpegTest, AlphaIsFlattenedOnWhite) {
    raster rgba = raster::of_size(16, 16, 4);
    for (int y = 0; y < 16; ++y) {
        for (int x = 0; x < 16; ++x) {
            std::uint8_t* p = rgba.row(y) + 4 * x;
            p[0] = 0, p[1] = 0, p[2] = 0;
            p[3] = x < 8 ? 0 : 255;  // transparent black, then opaque black
        }
    }
    const raster back = decode_jpeg(encode_jpeg(rgba, 95), 0, no_check).pixels;
    ASSERT_EQ(back.channels, 3);
    EXPECT_GE(back.row(8)[3 * 2], 245);  // transparent: white
    EXPECT_LE(back.row(8)[3 * 13], 10);  // opaque: black
}

}  // namespace
}  // namespace jpeg_test
}  // namespace thumbnails
