#include <muster/lambda/log.hpp>

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "output.hpp"

namespace muster::lambda {

std::string_view to_string(log_level level) noexcept {
    switch (level) {
        case log_level::trace:
            return "TRACE";
        case log_level::debug:
            return "DEBUG";
        case log_level::info:
            return "INFO";
        case log_level::warn:
            return "WARN";
        case log_level::error:
            return "ERROR";
        case log_level::fatal:
            return "FATAL";
    }
    return "INFO";
}

std::optional<log_level> parse_log_level(std::string_view name) noexcept {
    std::string upper;
    for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (auto level : {log_level::trace, log_level::debug, log_level::info, log_level::warn,
                       log_level::error, log_level::fatal}) {
        if (upper == to_string(level)) return level;
    }
    if (upper == "WARNING") return log_level::warn;
    return std::nullopt;
}

namespace {

/// `2024-05-01T10:00:00.123Z`
std::string utc_timestamp() {
    const auto now = std::chrono::system_clock::now();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        now.time_since_epoch()) % 1000;
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms.count()));
    return buf;
}

}  // namespace

std::string logger::format_line(log_level level, std::string_view message) const {
    if (format_ == log_format::json) {
        boost::json::object o;
        o["timestamp"] = utc_timestamp();
        o["level"] = to_string(level);
        if (!request_id_.empty()) o["requestId"] = request_id_;
        o["message"] = message;
        return boost::json::serialize(o);
    }
    std::string line = utc_timestamp();
    line += '\t';
    if (!request_id_.empty()) {
        line += request_id_;
        line += '\t';
    }
    line += to_string(level);
    line += '\t';
    // One event per line: CloudWatch splits text logs at newlines.
    for (char c : message) line += (c == '\n') ? '\r' : c;
    return line;
}

void logger::log(log_level level, std::string_view message) const {
    if (!enabled(level)) return;
    std::string line = format_line(level, message);
    line += '\n';
    detail::write_all(STDERR_FILENO, line);
}

namespace detail {

void write_all(int fd, std::string_view text) {
    while (!text.empty()) {
        const ssize_t n = ::write(fd, text.data(), text.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        text.remove_prefix(static_cast<std::size_t>(n));
    }
}

}  // namespace detail

}  // namespace muster::lambda
