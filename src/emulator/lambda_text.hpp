#pragma once

// The text Lambda's platform produces: ids, the error documents it returns,
// the lines it logs. Kept apart so the state machine reads as behaviour.

#include <chrono>
#include <cstddef>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace muster::emulator::detail {

class id_generator {
  public:
    id_generator();
    std::string request_id();  // a UUID v4
    std::string trace_id();    // Root=1-<epoch hex>-<24 hex>;Parent=<16 hex>;Sampled=0
    std::string log_stream_name(std::string_view version);

  private:
    std::string hex(std::size_t digits);
    std::mt19937_64 rng_;
};

// {"errorMessage":…,"errorType":…} with both strings escaped.
std::string error_document(std::string_view type, std::string_view message);

// Parses text as JSON; the parser's message when it is not.
std::optional<std::string> json_problem(std::string_view text);

// The "errorType" member of a JSON object, if the text is one and has it.
std::string error_type_of(std::string_view text);

// 1234.5 µs → "1.23"
std::string format_ms(std::chrono::microseconds d);

// 1500 ms → "1.50", as in "Task timed out after 1.50 seconds"
std::string seconds_text(std::chrono::milliseconds d);

}  // namespace muster::emulator::detail
