// One exchange of muster::http::client: a request written to a pooled
// connection of its origin (opened when none is idle) and its response read,
// with one transparent retry when a reused connection turns out stale.
// Internal.
#pragma once

#include <optional>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <muster/http/response.hpp>
#include <muster/http/url.hpp>

#include "client_state.hpp"
#include "failure.hpp"
#include "read_response.hpp"

namespace muster::http::detail {

/// One request on a pooled connection of `u`'s origin, with the one
/// transparent retry on a stale connection. The pointers live in the
/// caller's frame, which awaits this at once.
boost::asio::awaitable<response> send(
    state_ptr st, const url* up, const std::optional<url>* proxy,
    const boost::beast::http::request<boost::beast::http::string_body>* rp, failure_context* fp,
    const read_plan* plan);

}  // namespace muster::http::detail
