/// @file
/// Errors a handler can throw to choose what Lambda reports.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace muster::lambda {

/// An error whose `errorType` in Lambda's error report is chosen by the
/// thrower rather than taken from the exception's C++ type name.
///
/// The runtime turns any exception escaping a handler into a `/error` post
/// with `errorType` and `errorMessage`; for other exceptions the type is the
/// demangled C++ type name (`std::runtime_error`), for this one it is
/// `error_type()`.
///
/// @code
/// throw muster::lambda::function_error("ImageTooLarge", "42 MB is over the 20 MB limit");
/// @endcode
class function_error : public std::runtime_error {
  public:
    function_error(std::string error_type, const std::string& message)
        : std::runtime_error(message), error_type_(std::move(error_type)) {}

    const std::string& error_type() const noexcept { return error_type_; }

  private:
    std::string error_type_;
};

/// The payload was not valid JSON (the JSON handler form). Reported with
/// `errorType` `Runtime.UnmarshalError`, as AWS's managed runtimes do.
class invalid_event_error : public function_error {
  public:
    explicit invalid_event_error(const std::string& message)
        : function_error("Runtime.UnmarshalError", message) {}
};

}  // namespace muster::lambda
