// The shared state of a muster::http::client: its executor and options, the
// pool of each origin, the TLS context, the proxies. Every request holds it,
// so the client object may go before its requests. Internal.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ssl/context.hpp>

#include <muster/http/client.hpp>
#include <muster/http/url.hpp>

#include "tls.hpp"

namespace muster::http {

namespace detail {
struct connection;
struct origin_pool;
}  // namespace detail

struct client::state {
    // Both in pool.cpp, where the pools' types are complete.
    state(boost::asio::any_io_executor ex, http::options o);
    ~state();

    boost::asio::any_io_executor io;  ///< Where connections live: no scope, no ledger.
    http::options opts;
    std::map<std::string, std::unique_ptr<detail::origin_pool>, std::less<>> pools;
    std::shared_ptr<boost::asio::ssl::context> tls_context;

    /// The pool of the origin `key`, made on first use.
    detail::origin_pool& pool_of(const std::string& key);

    std::optional<url> http_proxy;
    std::optional<url> https_proxy;
    std::vector<std::string> no_proxy;  ///< Lower-case host names, domains or addresses.
    bool no_proxy_all = false;
    bool proxy_from_environment = false;

    /// The proxy for `u`, if any: by scheme, unless `no_proxy` names the host
    /// (exactly, or as a domain suffix; `*` names every host), and never for
    /// a loopback host when the proxy comes from the environment.
    std::optional<url> proxy_for(const url& u) const;

    boost::asio::ssl::context& tls(const std::string& url) {
        if (!tls_context) tls_context = detail::make_tls_context(opts, url);
        return *tls_context;
    }

    /// True when the idle connection `c` may serve another request: young
    /// enough, still open, and (plain TCP) with nothing unexpected to read.
    bool reusable(detail::connection& c, clock::time_point now) const;

    /// Gives a slot back: to the oldest waiter (with `c` if it can be
    /// reused), else to the pool.
    void release(detail::origin_pool& p, std::unique_ptr<detail::connection> c);

    void prune(detail::origin_pool& p, clock::time_point now);
};

namespace detail {
using state_ptr = std::shared_ptr<client::state>;
}  // namespace detail

}  // namespace muster::http
