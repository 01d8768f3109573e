// Name resolution for muster::http::client, cancellable and bounded by the
// request's deadline. Internal.
#pragma once

#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <muster/http/options.hpp>
#include <muster/http/url.hpp>

namespace muster::http::detail {

/// The addresses to try for `u`: an IP literal or `localhost` directly
/// (no resolver thread), any other name through the resolver.
boost::asio::awaitable<std::vector<boost::asio::ip::tcp::endpoint>> endpoints_of(
    boost::asio::any_io_executor io, url u, clock::time_point deadline);

}  // namespace muster::http::detail
