/// @file
/// Why a record failed: a short, stable reason code for programs (the log
/// line's `reason`) and a sentence for people (its `message`).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace thumbnails {

/// The reasons a record can fail. `to_string` gives the code written in logs.
enum class reason : std::uint8_t {
    malformed_body,      ///< The SQS body is neither a URL, `{"url":...}` nor an S3 notification.
    image_missing,       ///< The origin answered 404.
    http_error,          ///< The origin answered another non-2xx status.
    fetch_failed,        ///< No response: connection refused, reset, bad TLS...
    fetch_timeout,       ///< No complete response within THUMBNAILS_FETCH_TIMEOUT_MS.
    too_large,           ///< The body is over THUMBNAILS_MAX_BYTES.
    not_an_image,        ///< No image loader recognises the bytes.
    unsupported_format,  ///< An image format this function does not decode (SVG, PDF...).
    corrupt,             ///< Truncated or corrupt image data.
    too_many_pixels,     ///< The header declares more than THUMBNAILS_MAX_PIXELS.
    decode_failed,       ///< The decoder failed in another way.
    worker_crashed,      ///< Process mode: the decoding worker died (and was replaced).
    store_failed,        ///< Writing the thumbnail failed.
    commit_failed,       ///< Committing the batch's metadata failed: the whole batch fails.
    deadline,            ///< Still running at the deadline (invocation deadline less the reserve).
    not_started,         ///< Never started: the deadline came first, or an earlier FIFO
                         ///< message of its group failed.
    cancelled,           ///< Stopped by its collection.
    internal,            ///< Anything else (a bug): the message says what.
};

/// The code, e.g. `"too_many_pixels"`.
std::string_view to_string(reason r) noexcept;

/// A record's failure with its reason; `what()` is the sentence. Thrown by the
/// steps of a record and read back from the record's outcome.
class record_error : public std::runtime_error {
  public:
    record_error(thumbnails::reason r, const std::string& message)
        : std::runtime_error(message), reason_(r) {}

    thumbnails::reason reason() const noexcept { return reason_; }

  private:
    thumbnails::reason reason_;
};

}  // namespace thumbnails
