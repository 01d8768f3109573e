/// @file
/// Log lines the way Lambda's managed runtimes write them, in Text or JSON
/// format, filtered by level.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace muster::lambda {

/// Log levels, as `AWS_LAMBDA_LOG_LEVEL` names them.
enum class log_level : std::uint8_t { trace, debug, info, warn, error, fatal };

/// `"TRACE"`, `"DEBUG"`, ... as Lambda writes them.
std::string_view to_string(log_level level) noexcept;
/// Parses a level name, case-insensitively; `std::nullopt` when unknown.
std::optional<log_level> parse_log_level(std::string_view name) noexcept;

/// The format of log lines, as `AWS_LAMBDA_LOG_FORMAT` names it.
enum class log_format : std::uint8_t {
    /// `2024-05-01T10:00:00.123Z<TAB>request-id<TAB>INFO<TAB>message`
    text,
    /// `{"timestamp":"2024-05-01T10:00:00.123Z","level":"INFO","requestId":"...","message":"..."}`
    json
};

/// Writes log lines to standard error, one `write` per line so lines of
/// concurrent invocations never interleave.
///
/// A logger is cheap to copy; the one an `invocation` hands out stamps every
/// line with the invocation's request id. Lines below the minimum level
/// (`AWS_LAMBDA_LOG_LEVEL`, `INFO` by default) are dropped.
///
/// Thread-safety: a logger may be used from any thread.
///
/// @code
/// inv.log().info("resized " + std::to_string(n) + " images");
/// @endcode
class logger {
  public:
    logger() = default;
    logger(log_format format, log_level min_level, std::string request_id = {})
        : format_(format), min_level_(min_level), request_id_(std::move(request_id)) {}

    /// Writes `message` at `level` if the level is enabled.
    void log(log_level level, std::string_view message) const;

    void trace(std::string_view message) const { log(log_level::trace, message); }
    void debug(std::string_view message) const { log(log_level::debug, message); }
    void info(std::string_view message) const { log(log_level::info, message); }
    void warn(std::string_view message) const { log(log_level::warn, message); }
    void error(std::string_view message) const { log(log_level::error, message); }
    void fatal(std::string_view message) const { log(log_level::fatal, message); }

    bool enabled(log_level level) const noexcept { return level >= min_level_; }
    log_format format() const noexcept { return format_; }
    log_level min_level() const noexcept { return min_level_; }
    const std::string& request_id() const noexcept { return request_id_; }

    /// The same logger, stamping `request_id`.
    logger with_request_id(std::string request_id) const {
        return logger(format_, min_level_, std::move(request_id));
    }

    /// The line `log` would write (without the newline); for tests and for
    /// sinks other than standard error.
    std::string format_line(log_level level, std::string_view message) const;

  private:
    log_format format_ = log_format::text;
    log_level min_level_ = log_level::info;
    std::string request_id_;
};

}  // namespace muster::lambda
