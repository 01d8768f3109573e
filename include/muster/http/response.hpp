/// @file
/// `muster::http::response`: a complete response, body in memory.
#pragma once

#include <string>

#include <muster/http/headers.hpp>

namespace muster::http {

/// A complete response as the server sent it: any status code is a
/// response, never an error. The body is decoded from the transfer encoding
/// (chunked or `Content-Length`) but not from a content encoding.
struct response {
    /// The status code, e.g. 200.
    int status = 0;
    /// The reason phrase as sent (may be empty).
    std::string reason;
    http::headers headers;
    std::string body;

    /// True for 2xx.
    bool ok() const noexcept { return status >= 200 && status < 300; }
};

}  // namespace muster::http
