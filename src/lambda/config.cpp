#include "config.hpp"

#include <cstdlib>
#include <stdexcept>
#include <string_view>

namespace muster::lambda::detail {

std::optional<std::string> env(const char* name) {
    const char* value = std::getenv(name);
    if (!value) return std::nullopt;
    return std::string(value);
}

namespace {

/// A whole non-negative decimal number that fits, or `std::nullopt`.
std::optional<unsigned long long> parse_count(std::string_view text) {
    if (text.empty() || text.size() > 18) return std::nullopt;
    unsigned long long n = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<unsigned>(c - '0');
    }
    return n;
}

bool is_off(std::string_view v) {
    return v == "0" || v == "off" || v == "OFF" || v == "false" || v == "FALSE" || v == "no";
}

}  // namespace

log_settings read_log_settings() {
    log_settings s;
    if (auto format = env("AWS_LAMBDA_LOG_FORMAT")) {
        if (*format == "JSON" || *format == "json") {
            s.format = log_format::json;
        } else if (*format != "Text" && *format != "TEXT" && *format != "text") {
            s.warning = "AWS_LAMBDA_LOG_FORMAT=" + *format + " is not Text or JSON; using Text";
        }
    }
    if (auto level = env("AWS_LAMBDA_LOG_LEVEL"); level && !level->empty()) {
        if (auto parsed = parse_log_level(*level)) {
            s.level = *parsed;
        } else {
            if (!s.warning.empty()) s.warning += "; ";
            s.warning += "AWS_LAMBDA_LOG_LEVEL=" + *level +
                         " is not one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL; using INFO";
        }
    }
    return s;
}

runtime_config read_config(const run_options& options, const log_settings& logs) {
    runtime_config c;
    const auto api = env("AWS_LAMBDA_RUNTIME_API");
    if (!api) {
        throw std::invalid_argument(
            "AWS_LAMBDA_RUNTIME_API is not set: this program is a Lambda runtime and must be "
            "started by Lambda or a Lambda emulator (such as `muster invoke`)");
    }
    c.api = parse_endpoint(*api);
    c.format = logs.format;
    c.level = logs.level;
    c.function_name = env("AWS_LAMBDA_FUNCTION_NAME").value_or("");
    c.function_version = env("AWS_LAMBDA_FUNCTION_VERSION").value_or("$LATEST");

    if (auto n = env("AWS_LAMBDA_MAX_CONCURRENCY"); n && !n->empty()) {
        const auto parsed = parse_count(*n);
        if (!parsed || *parsed == 0 || *parsed > 10000) {
            throw std::invalid_argument("AWS_LAMBDA_MAX_CONCURRENCY=" + *n +
                                        " is not a whole number from 1 to 10000");
        }
        c.concurrency = static_cast<std::size_t>(*parsed);
    }

    c.deadline_margin = options.deadline_margin;
    if (auto m = env("MUSTER_DEADLINE_MARGIN_MS"); m && !m->empty()) {
        const auto parsed = parse_count(*m);
        if (!parsed) {
            throw std::invalid_argument("MUSTER_DEADLINE_MARGIN_MS=" + *m +
                                        " is not a whole number of milliseconds");
        }
        c.deadline_margin = std::chrono::milliseconds(*parsed);
    }

    c.metrics = options.metrics;
    if (auto m = env("MUSTER_METRICS"); m && is_off(*m)) c.metrics = false;
    c.metrics_namespace = env("MUSTER_METRICS_NAMESPACE").value_or(options.metrics_namespace);
    if (c.metrics_namespace.empty()) c.metrics_namespace = "muster";
    c.trace_directory = env("MUSTER_TRACE").value_or(options.trace_directory);
    return c;
}

}  // namespace muster::lambda::detail
