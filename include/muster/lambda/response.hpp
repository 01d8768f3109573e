/// @file
/// What a handler answers: the body posted to the Runtime API.
#pragma once

#include <string>
#include <utility>

#include <boost/json/fwd.hpp>

namespace muster::lambda {

/// The response of one invocation, posted as is to the Runtime API's
/// `/invocation/{id}/response` route.
///
/// Lambda limits a buffered response to 6,291,556 bytes (6 MiB and 100
/// bytes); a larger one is refused by the platform (413), which the runtime
/// logs as "response too large" and which the caller sees as a function
/// error.
///
/// @code
/// co_return muster::lambda::response::json({{"ok", true}});
/// co_return muster::lambda::response{"plain text", "text/plain"};
/// @endcode
///
/// GCC 12: never write a `co_await` inside its braces
/// (`response{.body = co_await render()}` frees the body twice); await into
/// a variable first (see the README's compiler caveat).
struct response {
    std::string body;
    std::string content_type = "application/json";

    /// `value` serialised as JSON.
    static response json(const boost::json::value& value);
    /// `text` as `text/plain; charset=utf-8`.
    static response text(std::string text) {
        return response{std::move(text), "text/plain; charset=utf-8"};
    }
};

}  // namespace muster::lambda
