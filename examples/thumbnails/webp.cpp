#include "webp.hpp"

#include <webp/decode.h>
#include <webp/demux.h>
#include <webp/encode.h>

#include "failure.hpp"
#include "orientation.hpp"

namespace thumbnails {

namespace {

/// The EXIF orientation of an extended-format WebP (VP8X with its EXIF flag), 1 otherwise.
int orientation_of(std::string_view data) {
    constexpr std::size_t flags_at = 20;
    if (data.size() <= flags_at || data.substr(12, 4) != "VP8X") return 1;
    if ((static_cast<std::uint8_t>(data[flags_at]) & EXIF_FLAG) == 0) return 1;
    const WebPData whole{reinterpret_cast<const std::uint8_t*>(data.data()), data.size()};
    WebPDemuxer* demux = WebPDemux(&whole);
    if (!demux) return 1;
    int orientation = 1;
    WebPChunkIterator chunk{};
    if (WebPDemuxGetChunk(demux, "EXIF", 1, &chunk)) {
        orientation = exif_orientation(
            std::string_view(reinterpret_cast<const char*>(chunk.chunk.bytes), chunk.chunk.size));
        WebPDemuxReleaseChunkIterator(&chunk);
    }
    WebPDemuxDelete(demux);
    return orientation;
}

const char* status_text(VP8StatusCode status) {
    switch (status) {
        case VP8_STATUS_OK:
            return "ok";
        case VP8_STATUS_OUT_OF_MEMORY:
            return "out of memory";
        case VP8_STATUS_INVALID_PARAM:
            return "invalid parameter";
        case VP8_STATUS_BITSTREAM_ERROR:
            return "bitstream error";
        case VP8_STATUS_UNSUPPORTED_FEATURE:
            return "unsupported feature";
        case VP8_STATUS_SUSPENDED:
            return "suspended";
        case VP8_STATUS_USER_ABORT:
            return "aborted";
        case VP8_STATUS_NOT_ENOUGH_DATA:
            return "not enough data (truncated)";
    }
    return "unknown error";
}

}  // namespace

decoded_image decode_webp(std::string_view data, const header_check& check) {
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(data.data());
    WebPDecoderConfig config;
    if (!WebPInitDecoderConfig(&config)) {
        throw record_error(reason::decode_failed, "libwebp: mismatched library version");
    }
    if (const VP8StatusCode s = WebPGetFeatures(bytes, data.size(), &config.input);
        s != VP8_STATUS_OK) {
        throw record_error(reason::corrupt,
                           std::string("unreadable webp header: ") + status_text(s));
    }
    if (config.input.has_animation) {
        throw record_error(reason::unsupported_format,
                           "animated webp is not supported (only still images)");
    }
    check(config.input.width, config.input.height);

    decoded_image out;
    out.orientation = orientation_of(data);
    const bool alpha = config.input.has_alpha != 0;
    out.pixels = raster::of_size(config.input.width, config.input.height, alpha ? 4 : 3);
    config.output.colorspace = alpha ? MODE_RGBA : MODE_RGB;
    config.output.is_external_memory = 1;
    config.output.u.RGBA.rgba = out.pixels.pixels.data();
    config.output.u.RGBA.stride = static_cast<int>(out.pixels.stride());
    config.output.u.RGBA.size = out.pixels.pixels.size();
    const VP8StatusCode s = WebPDecode(bytes, data.size(), &config);
    WebPFreeDecBuffer(&config.output);
    if (s != VP8_STATUS_OK) {
        throw record_error(reason::corrupt,
                           std::string("truncated or corrupt webp: ") + status_text(s));
    }
    return out;
}

std::string encode_webp(const raster& image, int quality) {
    std::uint8_t* buffer = nullptr;
    const auto q = static_cast<float>(quality);
    const int stride = static_cast<int>(image.stride());
    const std::size_t size =
        image.channels == 4
            ? WebPEncodeRGBA(image.pixels.data(), image.width, image.height, stride, q, &buffer)
            : WebPEncodeRGB(image.pixels.data(), image.width, image.height, stride, q, &buffer);
    if (size == 0) {
        WebPFree(buffer);
        throw record_error(reason::decode_failed, "cannot encode the webp thumbnail");
    }
    std::string out(reinterpret_cast<const char*>(buffer), size);
    WebPFree(buffer);
    return out;
}

}  // namespace thumbnails
