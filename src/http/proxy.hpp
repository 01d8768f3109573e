// The proxies of muster::http::client: `http_proxy`, `https_proxy` and
// `no_proxy` from the options or, when the options set no proxy, from the
// environment. Internal.
#pragma once

#include "client_state.hpp"

namespace muster::http::detail {

/// Sets `st`'s proxies from its options and the environment. Throws
/// `std::invalid_argument` for a proxy that is no http:// URL.
void configure_proxies(client::state& st);

}  // namespace muster::http::detail
