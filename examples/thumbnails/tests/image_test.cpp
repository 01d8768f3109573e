#include "image.hpp"

#include <chrono>
#include <vector>

#include <gtest/gtest.h>

#include "failure.hpp"
#include "fixtures.hpp"
#include "jpeg.hpp"
#include "png.hpp"

namespace thumbnails {
namespace image_test {
namespace {

using thumbnails_test::dimensions;

reason reason_of(const std::string& image, thumbnail_params p = {}) {
    try {
        (void)make_thumbnail(image, p);
    } catch (const record_error& e) {
        return e.reason();
    }
    ADD_FAILURE() << "decoded";
    return reason::internal;
}

std::uint64_t hash_of(const std::string& image) { return make_thumbnail(image, {}).dhash; }

TEST(DhashTest, BrighterToTheRightSetsEveryBit) {
    std::vector<float> px(90 * 40);
    for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<float>(i % 90);
    EXPECT_EQ(dhash({90, 40, px.data()}), ~std::uint64_t{0});
}

TEST(DhashTest, UniformRowsSetNoBit) {
    std::vector<float> px(90 * 40);
    for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<float>(i / 90);
    EXPECT_EQ(dhash({90, 40, px.data()}), 0u);
}

TEST(DhashTest, KnownValueAtNativeSizeAndScaledUp) {
    // Columns alternate dark, light: each row reads 1,0,1,0,... = 0xaa.
    std::vector<float> native(9 * 8);
    for (std::size_t i = 0; i < native.size(); ++i) native[i] = (i % 9) % 2 ? 200.f : 50.f;
    EXPECT_EQ(dhash({9, 8, native.data()}), 0xaaaaaaaaaaaaaaaau);
    // The same image with every pixel repeated 3x3: area averaging gives the same cells.
    std::vector<float> scaled(27 * 24);
    for (std::size_t y = 0; y < 24; ++y) {
        for (std::size_t x = 0; x < 27; ++x) scaled[y * 27 + x] = native[(y / 3) * 9 + x / 3];
    }
    EXPECT_EQ(dhash({27, 24, scaled.data()}), 0xaaaaaaaaaaaaaaaau);
    EXPECT_EQ(hash_hex(0xaaaaaaaaaaaaaaaau), "aaaaaaaaaaaaaaaa");
}

TEST(DhashTest, TinyImagesHashToo) {
    const float px[] = {10.f, 200.f};
    // Nine cells from two pixels: 10, 10, 10, 10, 105 (straddling), 200, 200, 200, 200.
    EXPECT_EQ(dhash({2, 1, px}), 0x1818181818181818u);
}

TEST(DhashTest, SameBytesSameHashAndSameThumbnail) {
    const std::string image = thumbnails_test::jpeg(320, 240, 2);
    const thumbnail a = make_thumbnail(image, {});
    const thumbnail b = make_thumbnail(image, {});
    EXPECT_EQ(a.dhash, b.dhash);
    EXPECT_EQ(a.bytes, b.bytes);
}

TEST(DhashTest, StableAcrossFormatsQualityAndScale) {
    for (int pattern : {0, 1, 2, 3}) {
        const std::uint64_t reference = hash_of(thumbnails_test::png(320, 240, pattern));
        EXPECT_LE(hamming(reference, hash_of(thumbnails_test::jpeg(320, 240, pattern, 50))), 4)
            << "pattern " << pattern;
        EXPECT_LE(hamming(reference, hash_of(thumbnails_test::webp(320, 240, pattern))), 4)
            << "pattern " << pattern;
        EXPECT_LE(hamming(reference, hash_of(thumbnails_test::png(800, 600, pattern))), 4)
            << "pattern " << pattern;
        EXPECT_LE(hamming(reference, hash_of(thumbnails_test::jpeg(160, 120, pattern, 75))), 4)
            << "pattern " << pattern;
    }
}

TEST(DhashTest, DifferentImagesAreFarApart) {
    std::vector<std::uint64_t> hashes;
    for (int pattern : {0, 1, 2, 3}) hashes.push_back(hash_of(thumbnails_test::png(320, 240, pattern)));
    for (std::size_t i = 0; i < hashes.size(); ++i) {
        for (std::size_t j = i + 1; j < hashes.size(); ++j) {
            EXPECT_GE(hamming(hashes[i], hashes[j]), 12) << i << " vs " << j;
        }
    }
}

TEST(ImageTest, ThumbnailFitsTheLongestEdge) {
    const thumbnail t = make_thumbnail(thumbnails_test::jpeg(640, 480, 0), {});
    EXPECT_EQ(t.source_format, "jpeg");
    EXPECT_EQ(t.width, 640);
    EXPECT_EQ(t.height, 480);
    EXPECT_EQ(t.thumb_width, 256);
    EXPECT_EQ(t.thumb_height, 192);
    EXPECT_EQ(dimensions(t.bytes), std::make_pair(256, 192));
    EXPECT_EQ(t.bytes.substr(0, 3), "\xff\xd8\xff");

    const thumbnail tall = make_thumbnail(thumbnails_test::png(300, 900, 1), {50'000'000, 90, output_format::png});
    EXPECT_EQ(tall.source_format, "png");
    EXPECT_EQ(tall.thumb_width, 30);
    EXPECT_EQ(tall.thumb_height, 90);
    EXPECT_EQ(tall.bytes.substr(1, 3), "PNG");
}

TEST(ImageTest, SmallImagesAreNotEnlarged) {
    const thumbnail t = make_thumbnail(thumbnails_test::webp(100, 50, 3), {});
    EXPECT_EQ(t.source_format, "webp");
    EXPECT_EQ(t.thumb_width, 100);
    EXPECT_EQ(t.thumb_height, 50);
}

TEST(ImageTest, WebpOutput) {
    const thumbnail t =
        make_thumbnail(thumbnails_test::png(400, 400, 2, true), {50'000'000, 64, output_format::webp});
    EXPECT_EQ(t.bytes.substr(0, 4), "RIFF");
    EXPECT_EQ(t.bytes.substr(8, 4), "WEBP");
    EXPECT_EQ(dimensions(t.bytes), std::make_pair(64, 64));
}

TEST(ImageTest, AverageColour) {
    EXPECT_EQ(to_hex(make_thumbnail(thumbnails_test::solid_png(50, 40, 255, 0, 0), {}).average_color),
              "#ff0000");
    EXPECT_EQ(to_hex(make_thumbnail(thumbnails_test::solid_png(50, 40, 18, 52, 86), {}).average_color),
              "#123456");
    // Transparent pixels do not count: the average of the visible half is blue.
    EXPECT_EQ(to_hex(make_thumbnail(thumbnails_test::half_transparent_png(64, 32), {}).average_color),
              "#0000ff");
}

TEST(ImageTest, TextIsNotAnImage) {
    EXPECT_EQ(reason_of("hello, this is not an image\n"), reason::not_an_image);
    EXPECT_EQ(reason_of(""), reason::not_an_image);
}

TEST(ImageTest, TruncatedImagesAreCorruptNotGrey) {
    EXPECT_EQ(reason_of(thumbnails_test::truncated(thumbnails_test::jpeg(640, 480, 2), 0.6)),
              reason::corrupt);
    EXPECT_EQ(reason_of(thumbnails_test::truncated(thumbnails_test::png(640, 480, 2), 0.6)),
              reason::corrupt);
    EXPECT_EQ(reason_of(thumbnails_test::truncated(thumbnails_test::webp(640, 480, 2), 0.6)),
              reason::corrupt);
    // Cut just before the end: only the last rows, or IEND, are missing.
    EXPECT_EQ(reason_of(thumbnails_test::truncated(thumbnails_test::png(640, 480, 2), 0.99)),
              reason::corrupt);
    EXPECT_EQ(reason_of(thumbnails_test::truncated(thumbnails_test::webp(640, 480, 2), 0.99)),
              reason::corrupt);
}

TEST(ImageTest, OtherFormatsAreRefusedByName) {
    for (const auto& [bytes, name] : {
             std::pair<std::string, std::string>{"GIF89a\x01\x00\x01\x00", "gif"},
             {std::string("II*\0\x08\0\0\0", 8), "tiff"},
             {std::string("\0\0\0\x18"
                          "ftypheic\0\0\0\0",
                          16),
              "heif"},
             {"<svg xmlns=\"http://www.w3.org/2000/svg\"/>", "svg"},
         }) {
        try {
            (void)make_thumbnail(bytes, {});
            ADD_FAILURE() << name << " decoded";
        } catch (const record_error& e) {
            EXPECT_EQ(e.reason(), reason::unsupported_format) << name;
            EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
        }
    }
}

TEST(ImageTest, AlphaIsKeptInPngAndFlattenedOnWhiteInJpeg) {
    // Left half fully transparent (red underneath), right half opaque blue.
    const std::string image = thumbnails_test::half_transparent_png(64, 32);
    const thumbnail png = make_thumbnail(image, {50'000'000, 64, output_format::png});
    const raster kept = decode_png(png.bytes, [](int, int) {}).pixels;
    ASSERT_EQ(kept.channels, 4);
    EXPECT_EQ(kept.row(16)[4 * 8 + 3], 0);
    EXPECT_EQ(kept.row(16)[4 * 56 + 3], 255);

    const thumbnail jpeg = make_thumbnail(image, {50'000'000, 64, output_format::jpeg});
    const raster flat = decode_jpeg(jpeg.bytes, 0, [](int, int) {}).pixels;
    ASSERT_EQ(flat.channels, 3);
    const std::uint8_t* white = flat.row(16) + 3 * 8;
    const std::uint8_t* blue = flat.row(16) + 3 * 56;
    EXPECT_LE(blue[0], 15);
    EXPECT_GE(blue[2], 240);
    EXPECT_GE(white[0], 245);
    EXPECT_GE(white[1], 245);
    EXPECT_GE(white[2], 245);
}

TEST(ImageTest, DecompressionBombIsRefusedFromItsHeader) {
    const std::string bomb = thumbnails_test::bomb_png(100000, 100000);
    EXPECT_LT(bomb.size(), 200u);
    const auto start = std::chrono::steady_clock::now();
    try {
        (void)make_thumbnail(bomb, {});
        FAIL() << "decoded a bomb";
    } catch (const record_error& e) {
        EXPECT_EQ(e.reason(), reason::too_many_pixels);
        EXPECT_NE(std::string(e.what()).find("100000x100000 is 10000000000 pixels"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(ImageTest, PixelLimitIsInclusive) {
    const std::string image = thumbnails_test::png(100, 100, 0);
    EXPECT_EQ(reason_of(image, {9'999, 64, output_format::jpeg}), reason::too_many_pixels);
    EXPECT_EQ(make_thumbnail(image, {10'000, 64, output_format::jpeg}).thumb_width, 64);
}

TEST(ImageTest, WorkerFormCarriesResultsAndReasons) {
    const std::string image = thumbnails_test::jpeg(320, 200, 1);
    const thumbnail_params p{1'000'000, 100, output_format::png};
    const thumbnail direct = make_thumbnail(image, p);
    const thumbnail via = decode_response(thumbnail_work(encode_request(p, "", image)));
    EXPECT_EQ(via.bytes, direct.bytes);
    EXPECT_EQ(via.dhash, direct.dhash);
    EXPECT_EQ(via.average_color, direct.average_color);
    EXPECT_EQ(via.width, 320);
    EXPECT_EQ(via.thumb_height, direct.thumb_height);
    EXPECT_EQ(via.source_format, "jpeg");
    try {
        (void)decode_response(thumbnail_work(encode_request(p, "MARK", "not an image, no MAR-K")));
        FAIL();
    } catch (const record_error& e) {
        EXPECT_EQ(e.reason(), reason::not_an_image);
    }
}

}  // namespace
}  // namespace image_test
}  // namespace thumbnails
