#include "resolve.hpp"

#include <memory>
#include <string>
#include <utility>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace muster::http::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

/// Resolves `host` on a background thread. The resolver ignores per-operation
/// cancellation, so cancelling the caller cancels the resolver itself.
template <class Token>
auto async_resolve_cancellable(std::shared_ptr<tcp::resolver> r, std::string host, std::string port,
                               Token&& token) {
    return asio::async_initiate<Token, void(error_code, tcp::resolver::results_type)>(
        [](auto handler, std::shared_ptr<tcp::resolver> r, std::string host, std::string port) {
            auto slot = asio::get_associated_cancellation_slot(handler);
            if (slot.is_connected()) slot.assign([r](asio::cancellation_type) { r->cancel(); });
            r->async_resolve(host, port, std::move(handler));
        },
        token, std::move(r), std::move(host), std::move(port));
}

}  // namespace

asio::awaitable<std::vector<tcp::endpoint>> endpoints_of(asio::any_io_executor io, url u,
                                                         clock::time_point deadline) {
    error_code not_ip;
    const auto address = asio::ip::make_address(u.host, not_ip);
    if (!not_ip) co_return std::vector<tcp::endpoint>{tcp::endpoint(address, u.port)};
    if (u.host == "localhost") {
        co_return std::vector<tcp::endpoint>{
            tcp::endpoint(asio::ip::address_v4::loopback(), u.port),
            tcp::endpoint(asio::ip::address_v6::loopback(), u.port)};
    }
    auto r = std::make_shared<tcp::resolver>(io);
    asio::steady_timer timer(io);
    if (deadline != clock::time_point::max()) timer.expires_at(deadline);
    if (deadline != clock::time_point::max())
        timer.async_wait([r](error_code ec) {
            if (!ec) r->cancel();
        });
    tcp::resolver::results_type results;
    try {
        auto resolving =
            async_resolve_cancellable(r, u.host, std::to_string(u.port), asio::use_awaitable);
        results = co_await std::move(resolving);
    } catch (...) {
        timer.cancel();
        throw;
    }
    timer.cancel();
    std::vector<tcp::endpoint> out;
    for (const auto& e : results) out.push_back(e.endpoint());
    co_return out;
}

}  // namespace muster::http::detail
