#include "orientation.hpp"

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "image.hpp"
#include "jpeg.hpp"
#include "png.hpp"

namespace thumbnails {
namespace orientation_test {
namespace {

enum side { top, bottom, left, right };

side opposite(side s) {
    switch (s) {
        case top:
            return bottom;
        case bottom:
            return top;
        case left:
            return right;
        default:
            return left;
    }
}

struct colour {
    std::uint8_t r, g, b;
};

/// The upright scene: its four quadrants in four colours.
colour scene(side vertical, side horizontal) {
    if (vertical == top) return horizontal == left ? colour{255, 0, 0} : colour{0, 255, 0};
    return horizontal == left ? colour{0, 0, 255} : colour{255, 255, 255};
}

/// What EXIF says of each orientation (TIFF 6.0, tag 0x0112): which side of the upright scene
/// the stored image's first row shows, and which its first column shows.
constexpr std::pair<side, side> first_row_and_column[9] = {
    {top, left}, {top, left},  {top, right},    {bottom, right}, {bottom, left},
    {left, top}, {right, top}, {right, bottom}, {left, bottom}};

/// The 64x32 scene as a file would store it with `orientation`: each stored quadrant painted
/// with the scene's quadrant that the table says it shows.
raster stored_scene(int orientation) {
    const bool transposed = orientation >= 5;
    raster r = raster::of_size(transposed ? 32 : 64, transposed ? 64 : 32, 3);
    const auto [row_side, column_side] = first_row_and_column[orientation];
    for (int y = 0; y < r.height; ++y) {
        for (int x = 0; x < r.width; ++x) {
            const side rs = y < r.height / 2 ? row_side : opposite(row_side);
            const side cs = x < r.width / 2 ? column_side : opposite(column_side);
            const bool rs_vertical = rs == top || rs == bottom;
            const colour c = rs_vertical ? scene(rs, cs) : scene(cs, rs);
            std::uint8_t* p = r.row(y) + 3 * x;
            p[0] = c.r, p[1] = c.g, p[2] = c.b;
        }
    }
    return r;
}

/// An EXIF APP1 segment holding only the orientation, big- or little-endian.
std::string exif_app1(int orientation, bool little) {
    std::string tiff = little ? std::string("II*\0", 4) : std::string("MM\0*", 4);
    const auto u16 = [&](unsigned v) {
        const char hi = static_cast<char>(v >> 8), lo = static_cast<char>(v & 0xff);
        tiff += little ? lo : hi;
        tiff += little ? hi : lo;
    };
    const auto u32 = [&](unsigned v) {
        if (little) {
            u16(v & 0xffff), u16(v >> 16);
        } else {
            u16(v >> 16), u16(v & 0xffff);
        }
    };
    u32(8);                                                        // IFD0 offset
    u16(2);                                                        // two entries
    u16(0x010e), u16(2), u32(4), tiff += std::string("abc\0", 4);  // ImageDescription
    u16(0x0112), u16(3), u32(1), u16(static_cast<unsigned>(orientation)), u16(0);
    u32(0);  // no next IFD
    const std::string payload = std::string("Exif\0\0", 6) + tiff;
    const std::size_t length = payload.size() + 2;
    return std::string("\xff\xe1", 2) + static_cast<char>(length >> 8) +
           static_cast<char>(length & 0xff) + payload;
}

TEST(OrientationTest, ReadsTheTagInBothByteOrders) {
    for (int o = 1; o <= 8; ++o) {
        EXPECT_EQ(exif_orientation(exif_app1(o, false).substr(4)), o);
        EXPECT_EQ(exif_orientation(exif_app1(o, true).substr(4)), o);
    }
}

TEST(OrientationTest, DamagedOrMissingTagMeansUpright) {
    EXPECT_EQ(exif_orientation(""), 1);
    EXPECT_EQ(exif_orientation(std::string_view("Exif\0\0MM\0*", 10)), 1);
    EXPECT_EQ(exif_orientation(exif_app1(9, false).substr(4)), 1);
    // IFD0 offset far past the end.
    std::string bad = exif_app1(6, false).substr(4);
    bad[13] = '\x7f';
    EXPECT_EQ(exif_orientation(bad), 1);
    const std::string cut = exif_app1(6, true).substr(4, 20);
    EXPECT_EQ(exif_orientation(cut), 1);
}

TEST(OrientationTest, EveryExifOrientationComesOutUpright) {
    for (int o = 1; o <= 8; ++o) {
        std::string file = encode_jpeg(stored_scene(o), 95);
        file.insert(2, exif_app1(o, o % 2 == 0));
        const thumbnail t = make_thumbnail(file, {50'000'000, 64, output_format::png});
        EXPECT_EQ(t.width, o >= 5 ? 32 : 64) << "orientation " << o << ": the stored width";
        ASSERT_EQ(t.thumb_width, 64) << "orientation " << o;
        ASSERT_EQ(t.thumb_height, 32) << "orientation " << o;
        const raster out = decode_png(t.bytes, [](int, int) {}).pixels;
        // The centre of each quadrant: JPEG blurs the edges between them.
        for (const side v : {top, bottom}) {
            for (const side h : {left, right}) {
                const int x = h == left ? 16 : 48, y = v == top ? 8 : 24;
                const std::uint8_t* p = out.row(y) + out.channels * x;
                const colour want = scene(v, h);
                EXPECT_LE(
                    std::abs(p[0] - want.r) + std::abs(p[1] - want.g) + std::abs(p[2] - want.b), 30)
                    << "orientation " << o << " at " << x << "," << y << ": " << int(p[0]) << " "
                    << int(p[1]) << " " << int(p[2]);
            }
        }
    }
}

}  // namespace
}  // namespace orientation_test
}  // namespace thumbnails
