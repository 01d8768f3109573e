/// @file
/// `event_error`: an event's JSON does not have the shape its type needs.
#pragma once

#include <stdexcept>
#include <string>

namespace muster::lambda {

/// Thrown by the Boost.JSON conversions of the event types (`value_to<sqs_event>(v)` and the
/// like) when a required field is missing or a field has the wrong JSON type.
///
/// `path()` names the field from the root of the converted value, in the notation of the
/// event's own JSON (`Records[2].messageId`, `requestContext.http.method`); it is empty when
/// the converted value itself has the wrong type. `what()` is `"<path>: <reason>"`, e.g.
/// `"Records[2].messageId: missing"` or `"Records[0].s3.object.size: expected a number, got
/// string"`.
///
/// Missing *optional* fields are never errors: they become defaults or `std::nullopt`. JSON
/// `null` counts as missing.
///
/// @code
/// try {
///     auto e = boost::json::value_to<muster::lambda::sqs_event>(payload);
/// } catch (const muster::lambda::event_error& e) {
///     log("bad event at ", e.path(), ": ", e.reason());
/// }
/// @endcode
class event_error : public std::runtime_error {
  public:
    event_error(std::string path, std::string reason)
        : std::runtime_error(path.empty() ? reason : path + ": " + reason),
          path_(std::move(path)),
          reason_(std::move(reason)) {}

    /// The offending field, from the root of the converted value (empty for the root).
    const std::string& path() const noexcept { return path_; }
    /// What is wrong with it: `"missing"`, `"expected a string, got number"`...
    const std::string& reason() const noexcept { return reason_; }

  private:
    std::string path_;
    std::string reason_;
};

}  // namespace muster::lambda
