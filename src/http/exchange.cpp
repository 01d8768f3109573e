#include "exchange.hpp"

#include <algorithm>
#include <memory>

#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/system/system_error.hpp>

#include "connect.hpp"
#include "pool.hpp"
#include "tls.hpp"

namespace muster::http::detail {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

asio::awaitable<response> send(state_ptr st, const url* up, const std::optional<url>* proxy,
                               const bhttp::request<bhttp::string_body>* rp, failure_context* fp,
                               const read_plan* plan) {
    auto cs = co_await asio::this_coro::cancellation_state;
    const url& u = *up;
    const auto& req = *rp;
    failure_context& f = *fp;
    const bool head = req.method() == bhttp::verb::head;
    const bool idempotent = is_idempotent(f.method);

    origin_pool& pool =
        st->pool_of(*proxy ? u.origin() + " via " + (*proxy)->origin() : u.origin());
    for (int attempt = 0;; ++attempt) {
        lease l;
        bool waited_out = false;
        error_code ec;
        try {
            auto acquiring = acquire(st, &pool, f.deadline);
            l = co_await std::move(acquiring);
        } catch (const slot_timed_out&) {
            waited_out = true;
        } catch (const boost::system::system_error& e) {
            ec = e.code();
        }
        if (waited_out) throw fail(f, phase::wait, asio::error::timed_out);
        if (ec) {
            f.cancelled = cs.cancelled() != asio::cancellation_type::none;
            throw fail(f, phase::wait, ec);
        }

        const bool reused = l.conn() != nullptr;
        if (!reused) {
            auto c = std::make_unique<connection>();
            if (u.https()) {
                c->tls.emplace(st->io, st->tls(f.url));
                detail::prepare_tls(c->tls->native_handle(), u.host, st->opts.verify_peer);
            } else {
                c->plain.emplace(st->io);
            }
            l.conn() = std::move(c);
            ++pool.opened;
            f.connect_deadline = std::min(f.deadline, clock::now() + st->opts.connect_timeout);
            auto opening = open_connection(st, l.conn().get(), u, *proxy, f.connect_deadline, fp);
            co_await std::move(opening);
            f.connect_deadline = clock::time_point::max();
        }

        connection& c = *l.conn();
        f.got_bytes = false;
        response out;
        bool keep_alive = false;
        try {
            detail::expire_at(c.tcp(), f.deadline);
            if (c.tls) {
                co_await bhttp::async_write(*c.tls, req, asio::use_awaitable);
                auto reading =
                    read_response(*c.tls, c.buffer, st->opts, head, f.got_bytes, *plan, out);
                keep_alive = co_await std::move(reading);
            } else {
                co_await bhttp::async_write(*c.plain, req, asio::use_awaitable);
                auto reading =
                    read_response(*c.plain, c.buffer, st->opts, head, f.got_bytes, *plan, out);
                keep_alive = co_await std::move(reading);
            }
        } catch (const boost::system::system_error& e) {
            ec = e.code();
        }
        if (ec) {
            l.drop();
            f.cancelled = cs.cancelled() != asio::cancellation_type::none;
            // A pooled connection the server had already closed: try once more
            // on a fresh one, when sending twice is harmless.
            if (reused && attempt == 0 && idempotent && !f.got_bytes && !f.cancelled &&
                stale_connection_error(ec) && clock::now() < f.deadline) {
                continue;
            }
            throw fail(f, phase::exchange, ec);
        }
        if (keep_alive) {
            l.keep();
        } else {
            l.drop();
        }
        co_return out;
    }
}

}  // namespace muster::http::detail
