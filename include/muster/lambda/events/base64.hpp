/// @file
/// Base64 (RFC 4648, standard alphabet) for the event fields that carry binary data: Kinesis
/// record data, HTTP API bodies with `isBase64Encoded`.
#pragma once

#include <string>
#include <string_view>

namespace muster::lambda {

/// Decodes standard base64 (`A-Z a-z 0-9 + /`, `=` padding). Padding may be omitted;
/// whitespace is not accepted.
///
/// Errors: `std::invalid_argument` naming the offset of the first character that is not
/// base64, or a length no encoder produces.
///
/// @code
/// assert(muster::lambda::base64_decode("aGVsbG8=") == "hello");
/// @endcode
std::string base64_decode(std::string_view text);

/// Encodes `bytes` as standard base64 with `=` padding. Never throws (but `bad_alloc`).
std::string base64_encode(std::string_view bytes);

}  // namespace muster::lambda
