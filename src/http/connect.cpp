#include "connect.hpp"

#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/system/system_error.hpp>

#include "pool.hpp"
#include "resolve.hpp"

namespace muster::http::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

asio::awaitable<void> open_connection(state_ptr st, connection* c, url u, std::optional<url> proxy,
                                      clock::time_point deadline, failure_context* f) {
    phase where = phase::resolve;
    error_code ec;
    std::string refused;
    try {
        auto resolving = endpoints_of(st->io, proxy ? *proxy : u, deadline);
        auto eps = co_await std::move(resolving);
        where = phase::connect;
        detail::expire_at(c->tcp(), deadline);
        co_await c->tcp().async_connect(eps, asio::use_awaitable);
        c->tcp().socket().set_option(tcp::no_delay(true));
        if (proxy && u.https()) {
            const std::string authority = u.host.find(':') != std::string::npos
                                              ? "[" + u.host + "]:" + std::to_string(u.port)
                                              : u.host + ":" + std::to_string(u.port);
            bhttp::request<bhttp::empty_body> connect_req(bhttp::verb::connect, authority, 11);
            connect_req.set(bhttp::field::host, authority);
            co_await bhttp::async_write(c->tcp(), connect_req, asio::use_awaitable);
            bhttp::response_parser<bhttp::empty_body> answer;
            answer.skip(true);  // a CONNECT response has no body
            answer.header_limit(static_cast<std::uint32_t>(st->opts.max_header_size));
            beast::flat_buffer buffer;
            co_await bhttp::async_read_header(c->tcp(), buffer, answer, asio::use_awaitable);
            if (answer.get().result_int() / 100 != 2) {
                const auto reason = answer.get().reason();
                refused = "the proxy " + proxy->origin() + " refused CONNECT " + authority + ": " +
                          std::to_string(answer.get().result_int()) + " " +
                          std::string(reason.data(), reason.size());
            } else if (buffer.size() != 0) {
                refused = "the proxy " + proxy->origin() + " sent data before the TLS handshake";
            }
        }
        if (refused.empty() && c->tls) {
            where = phase::handshake;
            co_await c->tls->async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
        }
        if (refused.empty()) co_return;
    } catch (const boost::system::system_error& e) {
        ec = e.code();
    }
    if (!refused.empty())
        throw error(error_kind::connect, f->url, f->method + " " + f->url + ": " + refused);
    f->cancelled = f->cancelled || (co_await asio::this_coro::cancellation_state).cancelled() !=
                                       asio::cancellation_type::none;
    if (proxy) f->via = proxy->origin();
    SSL* ssl = c->tls ? c->tls->native_handle() : nullptr;
    throw fail(*f, where, ec, ssl);
}

}  // namespace muster::http::detail
