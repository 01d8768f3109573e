// Reading one response of muster::http::client: the header, then the body
// into memory or piece by piece into a sink (decoded on its way when asked),
// within the size limits of the options. Internal.
#pragma once

#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <muster/http/client.hpp>

#include "policy.hpp"

namespace muster::http::detail {

/// Whether a response's body goes to a sink: only a final one does, never
/// that of a redirect about to be followed or of a status about to be retried.
struct read_plan {
    const body_sink* sink = nullptr;
    bool follow = false;
    bool may_retry = false;
    bool decompress = false;  ///< Decode a gzip/deflate body on its way to the sink.
    std::string what;         ///< "METHOD url: ", for decoding errors.
    std::string url;

    bool streams(int status) const noexcept {
        return sink && *sink && !(follow && redirect_status(status)) &&
               !(may_retry && retryable_status(status));
    }
};

/// Reads one final response (skipping 1xx interim ones) from `s` into `out`
/// and tells whether the connection may be reused. `got_bytes` turns true as
/// soon as any byte of a response was parsed: from then on a failure can no
/// longer be blamed on a stale connection. The references live in the
/// caller's frame, which awaits this at once. Defined for a plain and a TLS
/// `boost::beast::tcp_stream` (in read_response.cpp).
template <class Stream>
boost::asio::awaitable<bool> read_response(Stream& s, boost::beast::flat_buffer& buffer,
                                           const http::options& o, bool head, bool& got_bytes,
                                           const read_plan& plan, response& out);

}  // namespace muster::http::detail
