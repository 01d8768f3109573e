#include "vips_thumbnail.hpp"

#include <memory>
#include <mutex>
#include <stdexcept>

#include <glib.h>
#include <vips/vips8>

namespace thumbnails_bench {

namespace {

struct blob_unref {
    void operator()(VipsBlob* b) const { vips_area_unref(reinterpret_cast<VipsArea*>(b)); }
};

}  // namespace

void start_vips(const char* argv0) {
    static std::once_flag once;
    std::call_once(once, [argv0] {
        if (VIPS_INIT(argv0) != 0) throw std::runtime_error(vips_error_buffer());
        vips_concurrency_set(1);
        vips_cache_set_max(0);
        vips_cache_set_max_mem(0);
        vips_cache_set_max_files(0);
        vips_block_untrusted_set(TRUE);
    });
}

vips_result vips_thumbnail(std::string_view image, int size) {
    try {
        std::unique_ptr<VipsBlob, blob_unref> blob(
            vips_blob_new(nullptr, image.data(), image.size()));
        vips::VImage small =
            vips::VImage::thumbnail_buffer(blob.get(), size,
                                           vips::VImage::option()
                                               ->set("height", size)
                                               ->set("size", VIPS_SIZE_DOWN)
                                               ->set("option_string", "fail_on=error"))
                .copy_memory();
        const bool alpha = small.has_alpha();
        vips::VImage srgb = small.colourspace(VIPS_INTERPRETATION_sRGB);
        if (srgb.format() != VIPS_FORMAT_UCHAR) srgb = srgb.cast(VIPS_FORMAT_UCHAR);
        vips::VImage rgba = srgb.bands() == 3
                                ? srgb.bandjoin_const({255})
                                : srgb.extract_band(0, vips::VImage::option()->set("n", 4));
        rgba = rgba.copy_memory();
        // The summary the function computes read the pixels once more; so does this.
        std::size_t length = 0;
        g_free(rgba.write_to_memory(&length));
        vips::VImage encoded =
            alpha ? rgba.flatten(vips::VImage::option()->set("background",
                                                             std::vector<double>{255, 255, 255}))
                        .cast(VIPS_FORMAT_UCHAR)
                  : rgba.extract_band(0, vips::VImage::option()->set("n", 3));
        void* buffer = nullptr;
        encoded.write_to_buffer(".jpg", &buffer, &length,
                                vips::VImage::option()->set("Q", 80)->set("strip", true));
        vips_result out{std::string(static_cast<const char*>(buffer), length), rgba.width(),
                        rgba.height()};
        g_free(buffer);
        return out;
    } catch (const vips::VError& e) {
        vips_error_clear();
        throw std::runtime_error(e.what());
    }
}

}  // namespace thumbnails_bench
