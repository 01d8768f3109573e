// What Lambda is told about a failure: the exception being handled,
// described as an error type and message, and the error document the
// Runtime API takes.
#pragma once

#include <string>

namespace muster::lambda::detail {

struct error_report {
    std::string type;
    std::string message;
};

/// Describes the exception being handled (call from a catch block): a
/// `function_error`'s own error type, otherwise the exception's demangled
/// type; its `what()`, or a sentence naming a type not derived from
/// `std::exception`.
error_report describe_current_exception();

/// `{"errorMessage","errorType","stackTrace":[]}`.
std::string error_body(const error_report& e);

}  // namespace muster::lambda::detail
