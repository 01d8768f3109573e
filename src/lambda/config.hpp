// What the runtime learns from its environment before the first invocation.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include <muster/lambda/log.hpp>
#include <muster/lambda/run.hpp>

#include "runtime_api.hpp"

namespace muster::lambda::detail {

struct runtime_config {
    endpoint api;
    std::string function_name;
    std::string function_version;
    log_format format = log_format::text;
    log_level level = log_level::info;
    std::size_t concurrency = 1;
    std::chrono::milliseconds deadline_margin{250};
    bool metrics = true;
    std::string metrics_namespace;
    /// Where each invocation's trace goes; empty: no trace is recorded.
    std::string trace_directory;
};

/// Reads a variable, `std::nullopt` when unset.
std::optional<std::string> env(const char* name);

/// The logger settings alone: read first, so even the errors about the rest
/// of the environment are logged in the right format. Unknown values fall
/// back to Text and INFO; `warning` says what was ignored.
struct log_settings {
    log_format format = log_format::text;
    log_level level = log_level::info;
    std::string warning;
};
log_settings read_log_settings();

/// The rest of the configuration.
///
/// Errors: `std::invalid_argument` with a message naming the variable and
/// what is wrong with its value. The Runtime API address is read first: when
/// it is the problem, nothing can be reported to Lambda.
runtime_config read_config(const run_options& options, const log_settings& logs);

}  // namespace muster::lambda::detail
