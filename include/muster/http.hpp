/// @file
/// muster's outbound HTTP/HTTPS client: `muster::http::client`.
///
/// @code
/// #include <muster/http.hpp>
/// muster::http::client c{executor};
/// muster::http::response r = co_await c.get("https://example.com/");
/// @endcode
#pragma once

#include <muster/http/client.hpp>
#include <muster/http/error.hpp>
#include <muster/http/headers.hpp>
#include <muster/http/options.hpp>
#include <muster/http/redacted.hpp>
#include <muster/http/request.hpp>
#include <muster/http/response.hpp>
#include <muster/http/url.hpp>
