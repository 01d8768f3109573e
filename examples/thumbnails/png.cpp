#include "png.hpp"

#include <png.h>

#include "failure.hpp"

namespace thumbnails {

namespace {

/// Frees what libpng holds for `image` however the decode ends.
struct png_image_guard {
    png_image* image;
    ~png_image_guard() { png_image_free(image); }
};

}  // namespace

decoded_image decode_png(std::string_view data, const header_check& check) {
    // The simplified API catches libpng's longjmp itself and returns 0 with the message.
    png_image image{};
    image.version = PNG_IMAGE_VERSION;
    png_image_guard guard{&image};
    if (!png_image_begin_read_from_memory(&image, data.data(), data.size())) {
        throw record_error(reason::corrupt, std::string("unreadable png header: ") + image.message);
    }
    check(static_cast<int>(image.width), static_cast<int>(image.height));
    const bool alpha = (image.format & PNG_FORMAT_FLAG_ALPHA) != 0;
    image.format = alpha ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB;
    decoded_image out;
    out.pixels = raster::of_size(static_cast<int>(image.width), static_cast<int>(image.height),
                                 alpha ? 4 : 3);
    if (!png_image_finish_read(&image, nullptr, out.pixels.pixels.data(), 0, nullptr)) {
        throw record_error(reason::corrupt,
                           std::string("truncated or corrupt png: ") + image.message);
    }
    return out;
}

std::string encode_png(const raster& image) {
    png_image png{};
    png.version = PNG_IMAGE_VERSION;
    png.width = static_cast<png_uint_32>(image.width);
    png.height = static_cast<png_uint_32>(image.height);
    png.format = image.channels == 4 ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB;
    png_image_guard guard{&png};
    png_alloc_size_t size = 0;
    // Sized first, then written: the simplified API has no growing buffer.
    if (!png_image_write_get_memory_size(png, size, 0, image.pixels.data(), 0, nullptr)) {
        throw record_error(reason::decode_failed,
                           std::string("cannot encode the png thumbnail: ") + png.message);
    }
    std::string out(size, '\0');
    if (!png_image_write_to_memory(&png, out.data(), &size, 0, image.pixels.data(), 0, nullptr)) {
        throw record_error(reason::decode_failed,
                           std::string("cannot encode the png thumbnail: ") + png.message);
    }
    out.resize(size);
    return out;
}

}  // namespace thumbnails
