#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace muster::emulator {

/// Turns the text of an event file into the payloads to invoke with: a JSON
/// array gives one invocation per element (run in sequence, warm, in the
/// same process), anything else one invocation. Empty or blank text means
/// one invocation with `{}`.
///
/// Errors: throws `std::invalid_argument` with a message naming the line and
/// column where the text stops being JSON.
///
/// Example: `events_from_json(R"([{"n":1},{"n":2}])")` gives
/// `{R"({"n":1})", R"({"n":2})"}`.
std::vector<std::string> events_from_json(std::string_view text);

}  // namespace muster::emulator
