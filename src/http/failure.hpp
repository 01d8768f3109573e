// Classifying a failed request of muster::http::client: from where it
// failed and the error, the `muster::http::error` the caller gets (timeout,
// resolve, connect, TLS, closed, truncated, limits, protocol). Internal.
#pragma once

#include <cstddef>
#include <string>

#include <boost/system/error_code.hpp>

#include <muster/http/error.hpp>
#include <muster/http/options.hpp>

typedef struct ssl_st SSL;

namespace muster::http::detail {

/// Where a request was when it failed: decides the error kind.
enum class phase { wait, resolve, connect, handshake, exchange };

/// What the caller of `fail` knows about the request that failed.
struct failure_context {
    std::string method;
    std::string url;
    clock::time_point start;
    clock::time_point deadline;
    clock::time_point scope_deadline;
    clock::time_point connect_deadline = clock::time_point::max();
    bool scope_bound = false;  ///< The enclosing scope's deadline is the request's.
    std::string via;           ///< The proxy, when connecting to it failed.
    bool cancelled = false;
    bool got_bytes = false;
    std::size_t limit = 0;
};

/// The `muster::http::error` for `ec` in `where`.
error fail(const failure_context& f, phase where, const boost::system::error_code& ec,
           SSL* ssl = nullptr);

/// Stale keep-alive connections fail like this before any byte arrives.
bool stale_connection_error(const boost::system::error_code& ec);

}  // namespace muster::http::detail
