#include "failure.hpp"

namespace thumbnails {

std::string_view to_string(reason r) noexcept {
    switch (r) {
        case reason::malformed_body:
            return "malformed_body";
        case reason::image_missing:
            return "image_missing";
        case reason::http_error:
            return "http_error";
        case reason::fetch_failed:
            return "fetch_failed";
        case reason::fetch_timeout:
            return "fetch_timeout";
        case reason::too_large:
            return "too_large";
        case reason::not_an_image:
            return "not_an_image";
        case reason::unsupported_format:
            return "unsupported_format";
        case reason::corrupt:
            return "corrupt";
        case reason::too_many_pixels:
            return "too_many_pixels";
        case reason::decode_failed:
            return "decode_failed";
        case reason::worker_crashed:
            return "worker_crashed";
        case reason::store_failed:
            return "store_failed";
        case reason::commit_failed:
            return "commit_failed";
        case reason::deadline:
            return "deadline";
        case reason::not_started:
            return "not_started";
        case reason::cancelled:
            return "cancelled";
        case reason::internal:
            return "internal";
    }
    return "internal";
}

}  // namespace thumbnails
