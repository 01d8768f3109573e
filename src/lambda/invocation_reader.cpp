#include "invocation_reader.hpp"

#include <algorithm>
#include <string_view>
#include <utility>

namespace muster::lambda::detail {

namespace {

std::string header_value(const http_response& r, std::string_view name) {
    auto it = r.find(name);
    return it == r.end() ? std::string() : std::string(it->value());
}

/// Epoch milliseconds this early are not an epoch deadline (some emulators
/// send a constant such as 5000): 2001-09-09.
constexpr long long earliest_epoch_ms = 1'000'000'000'000LL;

}  // namespace

std::optional<invocation_info> invocation_reader::read(http_response& next,
                                                       clock::time_point received) {
    invocation_info info;
    info.request_id = header_value(next, "Lambda-Runtime-Aws-Request-Id");
    info.function_arn = header_value(next, "Lambda-Runtime-Invoked-Function-Arn");
    info.trace_id = header_value(next, "Lambda-Runtime-Trace-Id");
    info.client_context = header_value(next, "Lambda-Runtime-Client-Context");
    info.cognito_identity = header_value(next, "Lambda-Runtime-Cognito-Identity");
    info.tenant_id = header_value(next, "Lambda-Runtime-Aws-Tenant-Id");
    info.payload = std::move(next.body());
    info.time = time_;
    read_deadline(header_value(next, "Lambda-Runtime-Deadline-Ms"), received, info);
    if (info.request_id.empty()) {
        log_.error(
            "/next answered without a Lambda-Runtime-Aws-Request-Id; the invocation "
            "cannot be answered and is skipped");
        return std::nullopt;
    }
    return info;
}

void invocation_reader::read_deadline(const std::string& raw, clock::time_point received,
                                      invocation_info& info) {
    long long ms = -1;
    if (!raw.empty() && raw.size() <= 18 &&
        raw.find_first_not_of("0123456789") == std::string::npos) {
        ms = std::stoll(raw);
    }
    if (ms < earliest_epoch_ms) {
        if (!warned_deadline_) {
            warned_deadline_ = true;
            log_.warn(raw.empty() ? "the Runtime API sent no Lambda-Runtime-Deadline-Ms; "
                                    "invocations run without a deadline"
                                  : "Lambda-Runtime-Deadline-Ms: " + raw +
                                        " is not an epoch time in milliseconds; invocations run "
                                        "without a deadline");
        }
        return;
    }
    const std::chrono::system_clock::time_point platform{std::chrono::milliseconds(ms)};
    info.platform_deadline = platform;
    const auto left =
        std::chrono::duration_cast<clock::duration>(platform - std::chrono::system_clock::now());
    const clock::duration margin = std::min<clock::duration>(margin_, std::max(left, {}) / 10);
    info.deadline = received + left - margin;
}

}  // namespace muster::lambda::detail
