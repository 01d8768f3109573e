/// @file
/// The one response shape the three seed handlers share: a JSON entry per
/// input, in input order, and a summary of how the collection went.
///
/// Every entry has the same keys, whatever the pattern:
///
///     {"index": 2, "input": <which input>, "status": "ok",
///      "value": <the task's result>, "attempts": 1,
///      "timing_us": {"queued": 0, "run": 41312}}
///
/// `input` names the input without repeating it in bulk: the event's element
/// itself when it is a number, string, boolean or null (a URL, a task's
/// datum), `{"elements": n}` for an array (a data set) and `{"keys": n}` for
/// an object. A task that did not succeed has `"error": {"type", "message"}`
/// instead of `"value"`, where `type` is the exception's C++ type (what a
/// Lambda error's `errorType` would say). The response is
///
///     {"results": [entry...], "summary": {"total", "ok", "failed",
///      "timed_out", "cancelled", "not_started", "attempts",
///      "completion_order", "elapsed_us"}}
///
/// Times are whole microseconds: `queued` is the wait for a slot, `run` the
/// time from admission to the end of the last attempt (retries included).
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <muster/core/outcome.hpp>
#include <muster/core/status.hpp>

namespace seed_patterns {

/// The event does not have the shape a handler needs. A Lambda runtime turns
/// it into an error response; the command line exits with code 2.
class bad_event : public std::invalid_argument {
  public:
    using std::invalid_argument::invalid_argument;
};

/// The JSON name of `v`'s type, with its article, for messages: "a number",
/// "a string", "an array", "an object", "a boolean", "null".
std::string json_type(const boost::json::value& v);

/// The C++ type of the exception `e` holds, demangled
/// (`"muster::timeout_error"`), or `"unknown"` for a non-`std::exception`.
std::string error_type(const std::exception_ptr& e);

/// What an entry says about how a task ended, apart from its value.
struct entry_header {
    muster::status status = muster::status::not_started;
    std::exception_ptr error;
    unsigned attempts = 0;
    muster::timings timings;
};

/// How an entry names its input (see the file comment).
boost::json::value describe_input(const boost::json::value& input);

/// One result entry (see the file comment). `value` is used only when the
/// status is `ok`.
boost::json::object make_entry(std::size_t index, const boost::json::value& input,
                               const entry_header& header, boost::json::value value);

/// The entry for task `index`, from its outcome; `to_json(const T&)` turns a
/// successful value into JSON.
template <class T, class ToJson>
boost::json::object make_entry(std::size_t index, const boost::json::value& input,
                               const muster::outcome<T>& o, ToJson&& to_json) {
    entry_header h{o.status(), o.error(), o.attempts(), o.timings()};
    boost::json::value value;
    if (const T* v = o.get_if()) value = std::forward<ToJson>(to_json)(*v);
    return make_entry(index, input, h, std::move(value));
}

/// `{"results": ..., "summary": ...}`: counts statuses and attempts from the
/// entries themselves, so the summary can never disagree with them.
boost::json::object make_response(boost::json::array results,
                                  std::span<const std::size_t> completion_order,
                                  muster::clock::duration elapsed);

/// Whole microseconds.
std::int64_t to_us(muster::clock::duration d);

}  // namespace seed_patterns
