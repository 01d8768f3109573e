#include "pool.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace muster::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using boost::system::error_code;

namespace detail {

void expire_at(beast::tcp_stream& s, clock::time_point t) {
    if (t == clock::time_point::max()) {
        s.expires_never();
    } else {
        s.expires_at(t);
    }
}

}  // namespace detail

using detail::connection;
using detail::origin_pool;
using detail::slot_wait;

client::state::state(asio::any_io_executor ex, http::options o)
    : io(std::move(ex)), opts(std::move(o)) {}

client::state::~state() = default;

origin_pool& client::state::pool_of(const std::string& key) {
    auto it = pools.find(key);
    if (it == pools.end()) {
        auto p = std::make_unique<origin_pool>();
        p->key = key;
        it = pools.emplace(key, std::move(p)).first;
    }
    return *it->second;
}

bool client::state::reusable(connection& c, clock::time_point now) const {
    if (now - c.idle_since >= opts.idle_timeout || c.buffer.size() != 0) return false;
    auto& sock = c.tcp().socket();
    if (!sock.is_open()) return false;
    char byte;
    const auto n = ::recv(sock.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return false;             // the server closed it
    if (n > 0) return c.tls.has_value();  // TLS: session tickets may arrive late
    return errno == EAGAIN || errno == EWOULDBLOCK;
}

void client::state::release(origin_pool& p, std::unique_ptr<connection> c) {
    if (c) {
        c->tcp().expires_never();
        c->idle_since = clock::now();
    }
    if (!p.waiters.empty()) {
        auto w = std::move(p.waiters.front());
        p.waiters.pop_front();
        w->granted = true;
        w->conn = std::move(c);
        w->wait.wake();
        return;
    }
    --p.in_use;
    if (c) p.idle.push_back(std::move(c));
}

void client::state::prune(origin_pool& p, clock::time_point now) {
    // `idle` is in release order, so its front is the oldest: when that
    // one is young enough, all are, and the scan (once per request, over
    // up to max_connections_per_origin entries) is skipped.
    if (p.idle.empty() || now - p.idle.front()->idle_since < opts.idle_timeout) return;
    std::erase_if(p.idle, [&](const std::unique_ptr<connection>& c) {
        if (now - c->idle_since < opts.idle_timeout) return false;
        c->close();
        return true;
    });
}

detail::slot_wait::~slot_wait() {
    if (!granted || taken) return;
    if (conn) conn->close();
    if (auto st = owner.lock()) st->release(*pool, nullptr);
}

namespace detail {

asio::awaitable<lease> acquire(state_ptr st, origin_pool* p, clock::time_point deadline) {
    const auto now = clock::now();
    st->prune(*p, now);
    while (!p->idle.empty()) {
        auto c = std::move(p->idle.back());
        p->idle.pop_back();
        if (st->reusable(*c, now)) {
            ++p->in_use;
            co_return lease(st, p, std::move(c));
        }
        c->close();
    }
    if (p->in_use < st->opts.max_connections_per_origin) {
        ++p->in_use;
        co_return lease(st, p, nullptr);
    }

    auto w = std::make_shared<slot_wait>(st, p);
    p->waiters.push_back(w);
    asio::steady_timer timer(st->io);
    if (deadline != clock::time_point::max()) timer.expires_at(deadline);
    if (deadline != clock::time_point::max())
        timer.async_wait([st, p, w](error_code ec) {
            if (ec || w->granted) return;
            std::erase(p->waiters, w);
            w->timed_out = true;
            w->wait.wake();
        });
    auto on_cancel = [p, w] {
        if (w->granted) return false;
        std::erase(p->waiters, w);
        return true;
    };
    auto ex = co_await asio::this_coro::executor;
    try {
        auto waiting = w->wait.async_wait(ex, asio::use_awaitable, std::move(on_cancel));
        co_await std::move(waiting);
    } catch (...) {
        timer.cancel();
        throw;
    }
    timer.cancel();
    if (w->timed_out) throw slot_timed_out{};
    // The releaser counted this slot as ours already.
    w->taken = true;
    co_return lease(st, p, std::move(w->conn));
}

}  // namespace detail

pool_stats client::stats(std::string_view origin) const {
    pool_stats s;
    auto it = state_->pools.find(origin);
    if (it == state_->pools.end()) return s;
    const origin_pool& p = *it->second;
    s.idle = p.idle.size();
    s.in_use = p.in_use;
    s.waiting = p.waiters.size();
    s.opened = p.opened;
    return s;
}

void client::close_idle() const {
    for (auto& [key, p] : state_->pools) {
        for (auto& c : p->idle) c->close();
        p->idle.clear();
    }
}

}  // namespace muster::http
