// The connection pool of muster::http::client: one pool per origin, each at
// most `max_connections_per_origin` connections, idle ones kept for reuse,
// requests beyond the limit waiting in order for a free slot. Internal.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/system/error_code.hpp>

#include <muster/core/detail/waiter.hpp>

#include "client_state.hpp"

namespace muster::http::detail {

/// One open connection, plain or TLS, with the bytes read past the last
/// response.
struct connection {
    std::optional<boost::beast::tcp_stream> plain;
    std::optional<boost::beast::ssl_stream<boost::beast::tcp_stream>> tls;
    boost::beast::flat_buffer buffer;
    clock::time_point idle_since{};

    boost::beast::tcp_stream& tcp() { return tls ? tls->next_layer() : *plain; }
    void close() noexcept {
        boost::system::error_code ignored;
        tcp().socket().shutdown(boost::asio::socket_base::shutdown_both, ignored);
        tcp().socket().close(ignored);
    }
};

/// A request whose slot wait ended because its time ran out.
struct slot_timed_out {};

/// A request waiting for a free connection. Shared with the pool (which
/// grants it) and the timer (which ends the wait at the deadline).
struct slot_wait {
    slot_wait(std::weak_ptr<client::state> o, origin_pool* p) : owner(std::move(o)), pool(p) {}
    slot_wait(const slot_wait&) = delete;
    slot_wait& operator=(const slot_wait&) = delete;
    /// A grant nobody took (the waiting coroutine was destroyed, e.g. its
    /// handler dropped by an ended invocation) goes back to the pool.
    ~slot_wait();

    std::weak_ptr<client::state> owner;
    origin_pool* pool;
    muster::detail::waiter wait;
    std::unique_ptr<connection> conn;  ///< The granted connection; null: open one.
    bool granted = false;
    bool taken = false;
    bool timed_out = false;
};

/// The pool of one origin. Invariant: `in_use + idle.size()` connections
/// (or rights to open one) exist, never more than the limit.
struct origin_pool {
    std::string key;
    std::vector<std::unique_ptr<connection>> idle;  ///< Most recently used last.
    std::deque<std::shared_ptr<slot_wait>> waiters;
    std::size_t in_use = 0;
    std::size_t opened = 0;
};

/// Arms `s`'s timeouts to end at `t` (or disarms them).
void expire_at(boost::beast::tcp_stream& s, clock::time_point t);

/// A slot in an origin's pool, held while a request runs. Giving it up
/// without `keep()` closes the connection: only a response read to its end
/// leaves a connection fit for reuse.
class lease {
  public:
    lease() = default;
    lease(state_ptr st, origin_pool* p, std::unique_ptr<connection> c)
        : st_(std::move(st)), pool_(p), conn_(std::move(c)) {}
    lease(lease&& o) noexcept
        : st_(std::move(o.st_)),
          pool_(std::exchange(o.pool_, nullptr)),
          conn_(std::move(o.conn_)) {}
    lease& operator=(lease&& o) noexcept {
        if (this != &o) {
            drop();
            st_ = std::move(o.st_);
            pool_ = std::exchange(o.pool_, nullptr);
            conn_ = std::move(o.conn_);
        }
        return *this;
    }
    ~lease() { drop(); }

    std::unique_ptr<connection>& conn() noexcept { return conn_; }

    /// Returns the connection to the pool for reuse.
    void keep() {
        if (!pool_) return;
        st_->release(*std::exchange(pool_, nullptr), std::move(conn_));
    }
    /// Closes the connection (if any) and frees the slot.
    void drop() noexcept {
        if (conn_) conn_->close();
        conn_.reset();
        if (!pool_) return;
        st_->release(*std::exchange(pool_, nullptr), nullptr);
    }

  private:
    state_ptr st_;
    origin_pool* pool_ = nullptr;
    std::unique_ptr<connection> conn_;
};

/// A free slot of `p`: an idle connection, the right to open one, or (at the
/// limit) a wait that ends when another request releases one, at
/// `deadline`, or when the caller is cancelled. Throws `slot_timed_out`
/// when the wait ends at `deadline`.
boost::asio::awaitable<lease> acquire(state_ptr st, origin_pool* p, clock::time_point deadline);

}  // namespace muster::http::detail
