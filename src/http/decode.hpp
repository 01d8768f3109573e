// Content-Encoding decoding (gzip, deflate) with zlib. Internal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace muster::http::detail {

/// Whether `encoding` is one `decoder` decodes (`gzip`, `x-gzip`,
/// `deflate`); `identity` and unknown codings are passed through as sent.
bool decodable(std::string_view encoding) noexcept;

/// Decodes a body sent with `Content-Encoding: gzip` or `deflate` (zlib-
/// wrapped or, as some servers send it, raw) piece by piece, so a streamed
/// body never has to be held whole.
///
/// Errors: `feed` and `finish` throw `muster::http::error`:
/// `body_too_large` once more than `limit` decoded bytes came out,
/// `protocol` for corrupt data, for data after the end of the stream, or
/// (from `finish`) for a stream that ended early. `what` prefixes messages.
class decoder {
  public:
    decoder(std::string_view encoding, std::uint64_t limit, std::string what, std::string url);
    ~decoder();
    decoder(const decoder&) = delete;
    decoder& operator=(const decoder&) = delete;

    /// Decodes `in`, handing the output to `out` in pieces of at most 64 KiB.
    void feed(std::string_view in, const std::function<void(std::string_view)>& out);
    /// Checks the stream ended properly (no-op for an empty body).
    void finish();

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// `body` decoded from `encoding`; any encoding `decodable` refuses is
/// returned unchanged. Throws as `decoder` does.
std::string decode_content(std::string_view encoding, std::string body, std::size_t limit,
                           const std::string& what, const std::string& url);

}  // namespace muster::http::detail
