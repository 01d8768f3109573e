/// @file
/// Reading a `Retry-After` field (RFC 9110 §10.2.3). Internal to muster::http.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include <muster/core/outcome.hpp>

namespace muster::http::detail {

/// How long `value` asks to wait, seen at `now`: delay-seconds (`"120"`) or an
/// HTTP date (IMF-fixdate `"Sun, 06 Nov 1994 08:49:37 GMT"`, and the obsolete
/// RFC 850 and asctime forms a recipient must accept), a date in the past
/// meaning zero. `std::nullopt` for anything else, and for a wait longer
/// than a year (not meant; the request's deadline bounds retries anyway),
/// however far the date (years 0 to 9999 are read without overflow).
std::optional<clock::duration> retry_after(std::string_view value,
                                           std::chrono::system_clock::time_point now);

}  // namespace muster::http::detail
