#include "jpeg.hpp"

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include <jerror.h>
#include <jpeglib.h>

#include "failure.hpp"
#include "orientation.hpp"

namespace thumbnails {

namespace {

/// libjpeg reports errors through a callback that must not return: it jumps back to the
/// `setjmp` of the function that called into libjpeg (no C++ frame lies in between, so
/// nothing is skipped). Held on the heap so that nothing about it lives in a register across
/// the jump.
struct jpeg_errors {
    jpeg_error_mgr manager{};
    std::jmp_buf jump{};
    char message[JMSG_LENGTH_MAX] = {};
};

[[noreturn]] void jump_on_error(j_common_ptr info) {
    auto* errors = reinterpret_cast<jpeg_errors*>(info->err);
    (*info->err->format_message)(info, errors->message);
    std::longjmp(errors->jump, 1);
}

/// Warnings about damaged data are errors here: libjpeg would carry on and fill the rest of
/// the image with grey. The ones kept as warnings concern metadata only (bytes between
/// markers, an unknown JFIF revision or Adobe transform, a bad ICC marker), and the image
/// decodes whole; they are not reported because no record is worse for them.
void on_message(j_common_ptr info, int level) {
    if (level >= 0) return;  // trace messages
    switch (info->err->msg_code) {
        case JWRN_EXTRANEOUS_DATA:
        case JWRN_JFIF_MAJOR:
        case JWRN_ADOBE_XFORM:
        case JWRN_BOGUS_ICC:
            return;
        default:
            jump_on_error(info);
    }
}

std::unique_ptr<jpeg_errors> make_errors() {
    auto errors = std::make_unique<jpeg_errors>();
    jpeg_std_error(&errors->manager);
    errors->manager.error_exit = jump_on_error;
    errors->manager.emit_message = on_message;
    return errors;
}

struct decompress_guard {
    jpeg_decompress_struct* info;
    ~decompress_guard() { jpeg_destroy_decompress(info); }
};

struct compress_guard {
    jpeg_compress_struct* info;
    unsigned char* buffer = nullptr;
    ~compress_guard() {
        jpeg_destroy_compress(info);
        std::free(buffer);
    }
};

int orientation_of(const jpeg_decompress_struct& info) {
    for (jpeg_saved_marker_ptr m = info.marker_list; m; m = m->next) {
        if (m->marker != JPEG_APP0 + 1) continue;
        const std::string_view app1(reinterpret_cast<const char*>(m->data), m->data_length);
        if (app1.substr(0, 6) == std::string_view("Exif\0\0", 6)) return exif_orientation(app1);
    }
    return 1;
}

/// CMYK as libjpeg returns it (inverted when the file has an Adobe marker, as Photoshop
/// writes them) to RGB, without a colour profile.
void cmyk_to_rgb(const std::uint8_t* cmyk, std::uint8_t* rgb, int width, bool inverted) {
    for (int x = 0; x < width; ++x, cmyk += 4, rgb += 3) {
        const int k = inverted ? cmyk[3] : 255 - cmyk[3];
        for (int c = 0; c < 3; ++c) {
            const int ink = inverted ? cmyk[c] : 255 - cmyk[c];
            rgb[c] = static_cast<std::uint8_t>((ink * k + 127) / 255);
        }
    }
}

}  // namespace

int jpeg_scale_denominator(int width, int height, int target) noexcept {
    const int longest = width > height ? width : height;
    if (target <= 0) return 1;
    for (int d : {8, 4, 2}) {
        // libjpeg rounds a scaled dimension up.
        if ((longest + d - 1) / d >= target) return d;
    }
    return 1;
}

decoded_image decode_jpeg(std::string_view data, int target, const header_check& check) {
    auto errors = make_errors();
    jpeg_decompress_struct info{};
    info.err = &errors->manager;
    jpeg_create_decompress(&info);
    decompress_guard guard{&info};
    decoded_image out;
    std::vector<std::uint8_t> cmyk_row;

    if (setjmp(errors->jump)) {
        throw record_error(reason::corrupt,
                           std::string("truncated or corrupt jpeg: ") + errors->message);
    }
    jpeg_mem_src(&info, reinterpret_cast<const unsigned char*>(data.data()),
                 static_cast<unsigned long>(data.size()));
    jpeg_save_markers(&info, JPEG_APP0 + 1, 0xffff);
    if (jpeg_read_header(&info, TRUE) != JPEG_HEADER_OK) {
        throw record_error(reason::corrupt, "jpeg with tables but no image");
    }
    check(static_cast<int>(info.image_width), static_cast<int>(info.image_height));
    out.orientation = orientation_of(info);

    const bool cmyk = info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK;
    info.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    info.scale_num = 1;
    info.scale_denom = static_cast<unsigned>(jpeg_scale_denominator(
        static_cast<int>(info.image_width), static_cast<int>(info.image_height), target));
    jpeg_start_decompress(&info);

    out.pixels = raster::of_size(static_cast<int>(info.output_width),
                                 static_cast<int>(info.output_height), 3);
    if (cmyk) cmyk_row.resize(static_cast<std::size_t>(info.output_width) * 4);
    while (info.output_scanline < info.output_height) {
        std::uint8_t* row = out.pixels.row(static_cast<int>(info.output_scanline));
        JSAMPROW target_row = cmyk ? cmyk_row.data() : row;
        jpeg_read_scanlines(&info, &target_row, 1);
        if (cmyk) {
            cmyk_to_rgb(cmyk_row.data(), row, out.pixels.width, info.saw_Adobe_marker != 0);
        }
    }
    // Reads on to the end of the image: a scan cut short is reported here at the latest.
    jpeg_finish_decompress(&info);
    return out;
}

std::string encode_jpeg(const raster& image, int quality) {
    auto errors = make_errors();
    jpeg_compress_struct info{};
    info.err = &errors->manager;
    jpeg_create_compress(&info);
    compress_guard guard{&info};
    unsigned long size = 0;
    std::vector<std::uint8_t> flat(static_cast<std::size_t>(image.width) * 3);

    if (setjmp(errors->jump)) {
        throw record_error(reason::decode_failed,
                           std::string("cannot encode the jpeg thumbnail: ") + errors->message);
    }
    jpeg_mem_dest(&info, &guard.buffer, &size);
    info.image_width = static_cast<JDIMENSION>(image.width);
    info.image_height = static_cast<JDIMENSION>(image.height);
    info.input_components = 3;
    info.in_color_space = JCS_RGB;
    jpeg_set_defaults(&info);
    jpeg_set_quality(&info, quality, TRUE);
    // A pass more over a thumbnail's few coefficients for files some 5-10% smaller.
    info.optimize_coding = TRUE;
    jpeg_start_compress(&info, TRUE);
    while (info.next_scanline < info.image_height) {
        const std::uint8_t* src = image.row(static_cast<int>(info.next_scanline));
        if (image.channels == 4) {
            // On white: c * a + 255 * (1 - a), rounded.
            for (int x = 0; x < image.width; ++x) {
                const std::uint8_t* p = src + 4 * x;
                const int a = p[3];
                for (int c = 0; c < 3; ++c) {
                    flat[static_cast<std::size_t>(3 * x + c)] =
                        static_cast<std::uint8_t>((p[c] * a + 255 * (255 - a) + 127) / 255);
                }
            }
            src = flat.data();
        }
        JSAMPROW row = const_cast<JSAMPROW>(src);
        jpeg_write_scanlines(&info, &row, 1);
    }
    jpeg_finish_compress(&info);
    return std::string(reinterpret_cast<const char*>(guard.buffer), size);
}

}  // namespace thumbnails
