// Opening a connection of muster::http::client: resolve, connect, a CONNECT
// tunnel through an http:// proxy for https, the TLS handshake. Internal.
#pragma once

#include <optional>

#include <boost/asio/awaitable.hpp>

#include <muster/http/url.hpp>

#include "client_state.hpp"
#include "failure.hpp"

namespace muster::http::detail {

struct connection;

/// Opens `c` to `u`, directly or through `proxy`: resolve, connect, for
/// https through a proxy a CONNECT tunnel, then the TLS handshake. Throws
/// the classified `muster::http::error`. `c` and `f` live in the caller's
/// frame, which awaits this at once.
boost::asio::awaitable<void> open_connection(state_ptr st, connection* c, url u,
                                             std::optional<url> proxy, clock::time_point deadline,
                                             failure_context* f);

}  // namespace muster::http::detail
