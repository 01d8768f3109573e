// Where the runtime's lines go: whole lines, one `write` each when the
// kernel allows, so lines of concurrent invocations never interleave.
#pragma once

#include <string_view>

namespace muster::lambda::detail {

/// Writes all of `text` to `fd`, retrying after signals; a failing write
/// is dropped (there is nowhere left to report it).
void write_all(int fd, std::string_view text);

}  // namespace muster::lambda::detail
