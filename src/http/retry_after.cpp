#include "retry_after.hpp"

#include <array>
#include <charconv>
#include <cstdint>

namespace muster::http::detail {

namespace {

/// Delays longer than this are not believed: the value is ignored (a retry
/// is bounded by the request's deadline anyway).
constexpr std::chrono::seconds longest = std::chrono::hours(24 * 365);

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

/// Reads `min_digits` to `max_digits` decimal digits.
bool number(std::string_view& s, int min_digits, int max_digits, int& out) {
    int n = 0;
    int count = 0;
    while (count < max_digits && !s.empty() && s.front() >= '0' && s.front() <= '9') {
        n = n * 10 + (s.front() - '0');
        s.remove_prefix(1);
        ++count;
    }
    if (count < min_digits) return false;
    out = n;
    return true;
}

bool literal(std::string_view& s, std::string_view what) {
    if (!s.starts_with(what)) return false;
    s.remove_prefix(what.size());
    return true;
}

bool month(std::string_view& s, unsigned& out) {
    static constexpr std::array<std::string_view, 12> names = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (unsigned i = 0; i < names.size(); ++i) {
        if (s.starts_with(names[i])) {
            s.remove_prefix(3);
            out = i + 1;
            return true;
        }
    }
    return false;
}

bool time_of_day(std::string_view& s, int& h, int& m, int& sec) {
    return number(s, 2, 2, h) && literal(s, ":") && number(s, 2, 2, m) && literal(s, ":") &&
           number(s, 2, 2, sec) && h < 24 && m < 60 && sec <= 60;
}

/// Skips a day name (3 to 9 letters) up to and including `until`.
bool day_name(std::string_view& s, char until) {
    const auto at = s.find(until);
    if (at == std::string_view::npos || at < 3 || at > 9) return false;
    for (char c : s.substr(0, at))
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
    s.remove_prefix(at + 1);
    return true;
}

/// Whole seconds: a four-digit year fits (system_clock's nanoseconds do not
/// reach past 2262 or before 1677).
using sys_seconds = std::chrono::sys_seconds;

std::optional<sys_seconds> make_time(int year, unsigned mon, int day, int h, int m, int sec) {
    using namespace std::chrono;
    const year_month_day ymd{std::chrono::year{year}, std::chrono::month{mon},
                             std::chrono::day{static_cast<unsigned>(day)}};
    if (!ymd.ok()) return std::nullopt;
    return sys_days{ymd} + hours{h} + minutes{m} + seconds{sec};
}

/// `Sun, 06 Nov 1994 08:49:37 GMT`
std::optional<sys_seconds> imf_fixdate(std::string_view s) {
    int day = 0, year = 0, h = 0, m = 0, sec = 0;
    unsigned mon = 0;
    if (!day_name(s, ',') || !literal(s, " ") || !number(s, 2, 2, day) || !literal(s, " ") ||
        !month(s, mon) || !literal(s, " ") || !number(s, 4, 4, year) || !literal(s, " ") ||
        !time_of_day(s, h, m, sec) || !literal(s, " GMT") || !s.empty())
        return std::nullopt;
    return make_time(year, mon, day, h, m, sec);
}

/// `Sunday, 06-Nov-94 08:49:37 GMT` (two-digit years: RFC 9110 asks for the
/// reading no more than 50 years in the future; 70..99 → 19xx suffices here).
std::optional<sys_seconds> rfc850(std::string_view s) {
    int day = 0, year = 0, h = 0, m = 0, sec = 0;
    unsigned mon = 0;
    if (!day_name(s, ',') || !literal(s, " ") || !number(s, 2, 2, day) || !literal(s, "-") ||
        !month(s, mon) || !literal(s, "-") || !number(s, 2, 2, year) || !literal(s, " ") ||
        !time_of_day(s, h, m, sec) || !literal(s, " GMT") || !s.empty())
        return std::nullopt;
    year += year < 70 ? 2000 : 1900;
    return make_time(year, mon, day, h, m, sec);
}

/// `Sun Nov  6 08:49:37 1994`
std::optional<sys_seconds> asctime_date(std::string_view s) {
    int day = 0, year = 0, h = 0, m = 0, sec = 0;
    unsigned mon = 0;
    if (!day_name(s, ' ') || !month(s, mon) || !literal(s, " ")) return std::nullopt;
    if (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    if (!number(s, 1, 2, day) || !literal(s, " ") || !time_of_day(s, h, m, sec) ||
        !literal(s, " ") || !number(s, 4, 4, year) || !s.empty())
        return std::nullopt;
    return make_time(year, mon, day, h, m, sec);
}

}  // namespace

std::optional<clock::duration> retry_after(std::string_view value,
                                           std::chrono::system_clock::time_point now) {
    value = trim(value);
    if (value.empty()) return std::nullopt;
    if (value.front() >= '0' && value.front() <= '9') {
        std::uint64_t secs = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), secs);
        if (ec != std::errc{} || end != value.data() + value.size()) return std::nullopt;
        if (secs > static_cast<std::uint64_t>(longest.count())) return std::nullopt;
        return std::chrono::duration_cast<clock::duration>(std::chrono::seconds(secs));
    }
    auto when = imf_fixdate(value);
    if (!when) when = rfc850(value);
    if (!when) when = asctime_date(value);
    if (!when) return std::nullopt;
    // Compared in seconds, where any date read above fits; only a wait
    // within `longest` is converted to the clock's nanoseconds.
    const auto now_s = std::chrono::floor<std::chrono::seconds>(now);
    if (*when < now_s) return clock::duration::zero();
    if (*when - now_s > longest) return std::nullopt;
    const std::chrono::system_clock::time_point at = *when;
    if (at <= now) return clock::duration::zero();
    return std::chrono::duration_cast<clock::duration>(at - now);
}

}  // namespace muster::http::detail
