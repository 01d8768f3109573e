#include <muster/aws/error.hpp>

#include <algorithm>
#include <string_view>
#include <utility>

#include "detail.hpp"

namespace muster::aws {
namespace {

std::string describe(const std::string& service, int status, const std::string& code,
                     const std::string& message, const std::string& request_id) {
    std::string out =
        "muster::aws " + service + " " + code + " (HTTP " + std::to_string(status) + ")";
    if (!message.empty()) out += ": " + message;
    if (!request_id.empty()) out += " [request id " + request_id + "]";
    return out;
}

}  // namespace

error::error(std::string service, int status, std::string code, std::string message,
             std::string request_id)
    : std::runtime_error(describe(service, status, code, message, request_id)),
      service_(std::move(service)),
      status_(status),
      code_(std::move(code)),
      message_(std::move(message)),
      request_id_(std::move(request_id)) {}

bool error::retryable() const noexcept {
    return status_ == 429 || status_ >= 500 || detail::retryable_code(code_);
}

namespace detail {

bool retryable_code(std::string_view code) noexcept {
    static constexpr std::string_view codes[] = {
        // Throttling, as AWS's SDKs list it.
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException",
        "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
        "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
        // Transient service errors.
        "InternalError", "InternalServerError", "ServiceUnavailable", "RequestTimeout",
        "RequestTimeoutException"};
    return std::find(std::begin(codes), std::end(codes), code) != std::end(codes);
}

}  // namespace detail
}  // namespace muster::aws
