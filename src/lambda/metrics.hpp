// One CloudWatch Embedded Metric Format line per invocation.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <muster/core/ledger.hpp>
#include <muster/core/outcome.hpp>

namespace muster::lambda::detail {

/// What one invocation did, as metrics.
struct invocation_metrics {
    std::string_view namespace_name;
    std::string_view function_name;
    std::string_view request_id;
    const task_stats* tasks = nullptr;
    std::size_t pending_work = 0;  ///< Work left behind when it ended.
    clock::duration duration{};    ///< Handler start to response posted.
    bool failed = false;           ///< The handler threw.
};

/// An EMF JSON line (no newline): counts by task status, retries, task
/// latency (every value up to 100 tasks, otherwise 100 evenly spaced
/// quantiles, which is what CloudWatch's percentiles need), work left
/// pending, the handler's duration and error, with the function name as
/// the dimension and the request id as a property.
std::string emf_line(const invocation_metrics& m);

}  // namespace muster::lambda::detail
