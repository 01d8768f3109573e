// Content-Encoding decoding (gzip, deflate) with zlib. Internal.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace muster::http::detail {

/// `body` decoded from `encoding` (`gzip`, `x-gzip`, `deflate` (zlib or
/// raw), `identity`); any other encoding is returned unchanged. Throws
/// `muster::http::error`: `body_too_large` past `limit` decoded bytes,
/// `protocol` for corrupt or truncated data. `what` prefixes messages.
std::string decode_content(std::string_view encoding, std::string body, std::size_t limit,
                           const std::string& what, const std::string& url);

}  // namespace muster::http::detail
