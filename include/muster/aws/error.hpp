/// @file
/// `muster::aws::error`: an error response from an AWS service.
#pragma once

#include <stdexcept>
#include <string>

namespace muster::aws {

/// Thrown when an AWS service (or a stand-in for one) answers with an error:
/// the service's error code (`NoSuchKey`, `ConditionalCheckFailedException`,
/// `ThrottlingException`...), its message, its request id and the HTTP
/// status. Failures below HTTP (no connection, a timeout, cancellation) are
/// `muster::http::error`, unchanged.
///
/// `what()` is one line: `"muster::aws dynamodb ConditionalCheckFailedException
/// (HTTP 400): The conditional request failed [request id 4KBN...]"`.
///
/// Thread-safety: immutable once thrown.
class error : public std::runtime_error {
  public:
    error(std::string service, int status, std::string code, std::string message,
          std::string request_id);

    /// `"s3"` or `"dynamodb"`.
    const std::string& service() const noexcept { return service_; }
    /// The HTTP status of the error response.
    int status() const noexcept { return status_; }
    /// The service's error code. DynamoDB's `com.amazonaws...#` prefix is
    /// removed. A body-less S3 error (a `HEAD`) gets a code from its status:
    /// `NotFound` (404), `Forbidden` (403), `BadRequest` (400)...
    const std::string& code() const noexcept { return code_; }
    /// The service's human-readable message (may be empty).
    const std::string& message() const noexcept { return message_; }
    /// `x-amz-request-id` (S3) or `x-amzn-RequestId` (DynamoDB), or empty.
    const std::string& request_id() const noexcept { return request_id_; }
    /// True for what AWS's SDKs retry: throttling codes, HTTP 429 and 5xx.
    bool retryable() const noexcept;

  private:
    std::string service_;
    int status_;
    std::string code_;
    std::string message_;
    std::string request_id_;
};

}  // namespace muster::aws
