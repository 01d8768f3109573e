/// @file
/// The five ways a collected task can end.
#pragma once

#include <cstdint>
#include <ostream>
#include <string_view>

namespace muster {

/// How a task collected by `gather`, `as_completed` or `with_group` ended.
///
/// - `ok`: the task returned a value.
/// - `failed`: the task threw, and the exception is in the outcome.
/// - `timed_out`: the task was running when its `task_timeout` or the scope's
///   deadline expired; it was cancelled and has finished.
/// - `cancelled`: the task was running when the collection stopped for another
///   reason (`fail_fast`, `quorum`, `tolerate`, or the enclosing scope being
///   cancelled); it was cancelled and has finished.
/// - `not_started`: the collection stopped before the task was admitted; no
///   frame was ever created for it (with a lazy input) and nothing ran.
enum class status : std::uint8_t { ok, failed, timed_out, cancelled, not_started };

/// The number of enumerators of `status`, for tables indexed by it.
inline constexpr std::size_t status_count = 5;

/// The enumerator's name, e.g. `"timed_out"`.
constexpr std::string_view to_string(status s) noexcept {
    switch (s) {
        case status::ok:
            return "ok";
        case status::failed:
            return "failed";
        case status::timed_out:
            return "timed_out";
        case status::cancelled:
            return "cancelled";
        case status::not_started:
            return "not_started";
    }
    return "unknown";
}

inline std::ostream& operator<<(std::ostream& os, status s) { return os << to_string(s); }

}  // namespace muster
