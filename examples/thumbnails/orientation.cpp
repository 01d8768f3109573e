#include "orientation.hpp"

#include <cstdint>
#include <utility>

namespace thumbnails {

namespace {

/// Bounds-checked reads of a TIFF structure in either byte order.
class tiff_reader {
  public:
    explicit tiff_reader(std::string_view data) : data_(data) {
        little_ = data.size() >= 2 && data[0] == 'I' && data[1] == 'I';
    }
    bool has(std::size_t at, std::size_t n) const {
        return at <= data_.size() && n <= data_.size() - at;
    }
    std::uint32_t u16(std::size_t at) const { return read(at, 2); }
    std::uint32_t u32(std::size_t at) const { return read(at, 4); }

  private:
    std::uint32_t read(std::size_t at, int n) const {
        std::uint32_t v = 0;
        for (int i = 0; i < n; ++i) {
            const auto byte = static_cast<std::uint8_t>(
                data_[at + static_cast<std::size_t>(little_ ? n - 1 - i : i)]);
            v = (v << 8) | byte;
        }
        return v;
    }
    std::string_view data_;
    bool little_ = false;
};

}  // namespace

int exif_orientation(std::string_view exif) noexcept {
    if (exif.substr(0, 6) == std::string_view("Exif\0\0", 6)) exif.remove_prefix(6);
    if (exif.size() < 8) return 1;
    const bool ii = exif.substr(0, 4) == std::string_view("II*\0", 4);
    const bool mm = exif.substr(0, 4) == std::string_view("MM\0*", 4);
    if (!ii && !mm) return 1;
    const tiff_reader t(exif);
    const std::size_t ifd = t.u32(4);
    if (!t.has(ifd, 2)) return 1;
    const std::uint32_t entries = t.u16(ifd);
    for (std::uint32_t i = 0; i < entries; ++i) {
        const std::size_t entry = ifd + 2 + 12 * static_cast<std::size_t>(i);
        if (!t.has(entry, 12)) return 1;
        // Tag 0x0112, type SHORT (3), count 1: the value sits in the first two bytes of the
        // value field.
        if (t.u16(entry) != 0x0112) continue;
        if (t.u16(entry + 2) != 3 || t.u32(entry + 4) != 1) return 1;
        const std::uint32_t value = t.u16(entry + 8);
        return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
    }
    return 1;
}

raster apply_orientation(raster image, int orientation) {
    if (orientation < 2 || orientation > 8) return image;
    const bool transpose = orientation >= 5;
    const int w = image.width, h = image.height, c = image.channels;
    raster out = raster::of_size(transpose ? h : w, transpose ? w : h, c);
    // For each destination pixel (x, y), the source pixel it shows.
    for (int y = 0; y < out.height; ++y) {
        std::uint8_t* dst = out.row(y);
        for (int x = 0; x < out.width; ++x) {
            int sx = 0, sy = 0;
            switch (orientation) {
                case 2:
                    sx = w - 1 - x;
                    sy = y;
                    break;
                case 3:
                    sx = w - 1 - x;
                    sy = h - 1 - y;
                    break;
                case 4:
                    sx = x;
                    sy = h - 1 - y;
                    break;
                case 5:
                    sx = y;
                    sy = x;
                    break;
                case 6:
                    sx = y;
                    sy = h - 1 - x;
                    break;
                case 7:
                    sx = w - 1 - y;
                    sy = h - 1 - x;
                    break;
                case 8:
                    sx = w - 1 - y;
                    sy = x;
                    break;
            }
            const std::uint8_t* src =
                image.row(sy) + static_cast<std::size_t>(sx) * static_cast<std::size_t>(c);
            for (int k = 0; k < c; ++k) dst[static_cast<std::size_t>(x * c + k)] = src[k];
        }
    }
    return out;
}

}  // namespace thumbnails
